//! Which of tract's matrix-product kernels run on this CPU: the 256-bit ones on AMD Zen 4. (Our
//! own 1×1 convs time theirs: `betadarts-deploy-kernels`' `tile_choice.rs`.)
//!
//! tract picks among its AVX-512 and 256-bit FMA kernels with a cost model measured on a Zen 5
//! (full-width 512-bit FMA units), and so prefers AVX-512 on every AMD CPU that has it. Zen 4
//! (family 0x19) runs each 512-bit FMA as two 256-bit halves: there the AVX-512 kernels were
//! slower, and leaving them out ran DARTS_V2 CIFAR 1.15–1.2× faster (one thread, batch 1 and 32,
//! `deploy bench`, alternated; the matrix products of 72–576 channels went from 32–39 to 32–49
//! GFMA/s). tract reads its instruction set once per process, so this is settled before the
//! first model is read; a non-empty `TRACT_CPU_ISA` in the environment (`+avx512f` keeps everything) wins.

use std::sync::Once;

/// Applies the choice once per process, before tract's first use.
pub fn choose() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        our_tiles();
        if std::env::var_os("TRACT_CPU_ISA").is_some_and(|v| !v.is_empty()) {
            return;
        }
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        if cfg!(target_arch = "x86_64") && double_pumped_avx512(&cpuinfo) {
            tracing::debug!(
                "tract: AMD Zen 4 (family 0x19) runs 512-bit FMAs in halves: 256-bit kernels"
            );
            tract_linalg::knobs::TRACT_CPU_ISA.set(Some("-avx512f".to_string()));
        }
    });
}

/// Times (once) which tiles our 1×1 convs run, and says which; warns when
/// `BETADARTS_POINTWISE_ISA` asks for tiles this CPU lacks.
fn our_tiles() {
    use betadarts_deploy_kernels::tile_choice::{VAR, chosen_name, names};
    if let Ok(asked) = std::env::var(VAR)
        && !names().contains(&asked.as_str())
    {
        tracing::warn!(
            "{VAR}={asked:?} is not one of this CPU's tiles ({}): timing the choice instead",
            names().join(", ")
        );
    }
    tracing::debug!("our 1×1 convs run {} tiles", chosen_name());
}

/// An AMD family 0x19 CPU with AVX-512 (Zen 4), from `/proc/cpuinfo`'s first processor.
pub fn double_pumped_avx512(cpuinfo: &str) -> bool {
    let first = cpuinfo.split("\n\n").next().unwrap_or_default();
    let field = |name: &str| {
        first.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim())
        })
    };
    field("vendor_id") == Some("AuthenticAMD")
        && field("cpu family") == Some("25")
        && field("flags").is_some_and(|f| f.split_whitespace().any(|x| x == "avx512f"))
}

#[cfg(test)]
mod tests {
    use super::double_pumped_avx512;

    fn cpu(vendor: &str, family: u32, flags: &str) -> String {
        format!(
            "processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: 17\nflags\t\t: fpu sse2 avx2 fma {flags}\n\nprocessor\t: 1\n"
        )
    }

    #[test]
    fn only_zen_4_with_avx512_leaves_it_out() {
        assert!(double_pumped_avx512(&cpu(
            "AuthenticAMD",
            25,
            "avx512f avx512bw"
        )));
        // Zen 5 (family 0x1a): full-width units, tract's model was measured there.
        assert!(!double_pumped_avx512(&cpu("AuthenticAMD", 26, "avx512f")));
        // Zen 3: same family, no AVX-512.
        assert!(!double_pumped_avx512(&cpu("AuthenticAMD", 25, "")));
        assert!(!double_pumped_avx512(&cpu("GenuineIntel", 6, "avx512f")));
        assert!(!double_pumped_avx512(""));
    }
}
