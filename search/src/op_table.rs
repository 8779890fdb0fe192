//! `op_table!`: a space's candidate ops declared once — variant and reference name, in α column
//! order — from which the enum, `ALL`, `NAMES` and the name lookups are generated, so the order
//! of α's columns, the arch strings and the enum cannot drift apart. Code that acts on an op
//! matches on the enum without a catch-all, so a new op is a compile error until it is wired.

#[macro_export]
macro_rules! op_table {
    ($(#[$meta:meta])* pub enum $ty:ident { $($(#[$vmeta:meta])* $var:ident => $name:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $($(#[$vmeta])* $var),+
        }

        impl $ty {
            /// Every op, in α column order.
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$var),+];
            /// The reference code's names, in α column order.
            pub const NAMES: [&'static str; [$($name),+].len()] = [$($name),+];

            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$var => $name),+
                }
            }

            /// Column of α.
            pub fn index(self) -> usize {
                self as usize
            }

            pub fn from_index(i: usize) -> Option<$ty> {
                Self::ALL.get(i).copied()
            }

            pub fn from_name(name: &str) -> Option<$ty> {
                Self::ALL.iter().copied().find(|o| o.name() == name)
            }
        }
    };
}
