//! Hand-assembled pickles (opcode by opcode, as `pickletools.dis` lists them). The Python side
//! (`tests/clients/write_pickles.py`) checks that Python's own unpickler reads the first one to
//! the same array, and writes real files at protocols 2, 4 and 5 for the integration test.

use super::*;

/// A CIFAR batch as Python 2's cPickle writes it (protocol 2, `str` as SHORT_BINSTRING): a
/// dict with `data` = uint8 [[0, 1, 2], [3, 4, 5]] and `labels` = [1, 2].
pub const PY2_BATCH: &[u8] = b"\x80\x02}q\x00(U\x04dataq\x01cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85U\x01b\x87Rq\x04(K\x01K\x02K\x03\x86cnumpy\ndtype\nq\x05U\x02u1K\x00K\x01\x87Rq\x06(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x06\x00\x01\x02\x03\x04\x05tbU\x06labelsq\x07]q\x08(K\x01K\x02eu.";

#[test]
fn a_python2_cifar_batch_reads_with_its_array_and_labels() {
    let v = parse(PY2_BATCH).unwrap();
    let a = v.get("data").and_then(|d| d.array()).unwrap();
    assert_eq!(a.shape, [2, 3]);
    assert_eq!(a.dtype.name(), "u1");
    assert_eq!(&a.data[..], &[0, 1, 2, 3, 4, 5]);
    assert_eq!(v.get("labels").unwrap().int_vec().unwrap(), [1, 2]);
    assert_eq!(v.keys(), ["data", "labels"]);
}

#[test]
fn fortran_ordered_and_big_endian_arrays_come_out_in_c_order() {
    // The same batch with is_fortran = True: raw bytes 0..5 are column-major [[0, 2, 4], [1, 3, 5]].
    let f: Vec<u8> = [&PY2_BATCH[..137], b"\x88", &PY2_BATCH[138..]].concat();
    let a = parse(&f).unwrap().get("data").unwrap().array().unwrap();
    assert_eq!(&a.data[..], &[0, 2, 4, 1, 3, 5]);
    // dtype('>i2') holding [1, -2]: labels from an integer array.
    let p = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01K\x02\x85cnumpy\ndtype\nU\x02i2K\x00K\x01\x87R(K\x03U\x01>NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x04\x00\x01\xff\xfetb.";
    let v = parse(p).unwrap();
    assert_eq!(v.int_vec().unwrap(), [1, -2]);
}

#[test]
fn shared_values_are_shared_not_copied() {
    // A 4-byte string memoised once and referenced 1,000 times in a list.
    let mut p = b"\x80\x02C\x04abcdq\x00](".to_vec();
    p.extend(std::iter::repeat_n(&b"h\x00"[..], 1000).flatten());
    p.extend(b"e.");
    let items = parse(&p).unwrap().items().unwrap();
    assert_eq!(items.len(), 1000);
    let (Value::Bytes(a), Value::Bytes(b)) = (&items[0], &items[999]) else {
        panic!("bytes expected")
    };
    assert!(std::rc::Rc::ptr_eq(a, b));
}

#[test]
fn hostile_pickles_are_refused_with_a_reason() {
    let err = |p: &[u8]| parse(p).unwrap_err();
    // Code execution is never reached: the global is refused by name.
    assert!(err(b"\x80\x02cos\nsystem\nU\x02lsR.").contains("refusing os.system"));
    // A length field far past the end.
    assert!(err(b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f.").contains("truncated"));
    assert!(err(b"\x80\x02K\x01").contains("without STOP"));
    // A list placed inside itself.
    assert!(err(b"\x80\x02]q\x00h\x00a.").contains("in itself"));
    // 40 lists nested by APPEND.
    let mut deep = b"\x80\x02".to_vec();
    deep.extend([b']'; 40]);
    deep.extend([b'a'; 39]);
    deep.push(b'.');
    assert!(err(&deep).contains("nested deeper"));
    // An array whose data does not fill its shape.
    let short = [
        &PY2_BATCH[..139],
        b"\x05",
        &PY2_BATCH[140..145],
        &PY2_BATCH[146..],
    ]
    .concat();
    assert!(err(&short).contains("needs 6 bytes"), "{}", err(&short));
    assert!(err(b"\x80\x06.").contains("protocol 6"));
    assert!(err(b"\x80\x02)\x8f.").contains("0x8f"));
}

#[test]
fn integers_of_every_width_and_sign() {
    let v =
        parse(b"\x80\x02(K\xffM\xff\xffJ\xfe\xff\xff\xff\x8a\x02\xff\xfe\x8a\x00I42\nt.").unwrap();
    assert_eq!(v.int_vec().unwrap(), [255, 65535, -2, -257, 0, 42]);
}
