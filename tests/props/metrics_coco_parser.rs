//! The COCO readers never panic: valid files mutated byte by byte, or value by value, give
//! either a report or a clean error that names a file.

use adasval::metrics::coco::evaluate_texts;
use proptest::prelude::*;

const GT: &str = r#"{"images":[{"id":1,"width":640},{"id":2}],
"categories":[{"id":1,"name":"person"},{"id":3,"name":"car"}],
"annotations":[
 {"id":1,"image_id":1,"category_id":1,"bbox":[10.5,10,50,100],"area":5000,"iscrowd":0},
 {"id":2,"image_id":2,"category_id":3,"bbox":[0,0,200,100],"area":20000,"iscrowd":1},
 {"id":3,"image_id":2,"category_id":1,"bbox":[5,5,20,30],"area":500}]}"#;

const DT: &str = r#"[{"image_id":1,"category_id":1,"bbox":[11,10,50,99],"score":0.9},
{"image_id":2,"category_id":3,"bbox":[1,1,100,50],"score":0.5},
{"image_id":2,"category_id":1,"bbox":[5,6,20,30],"score":0.5}]"#;

fn check(gt: &str, dt: &str) {
    match evaluate_texts(gt, "gt.json", dt, "dt.json") {
        Ok(r) => {
            for v in r.stats() {
                assert!(
                    v == -1.0 || (0.0..=1.0).contains(&v),
                    "stat out of range: {v}"
                );
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("gt.json") || msg.contains("dt.json"), "{msg}");
        }
    }
}

fn mutate(text: &str, edits: &[(usize, u8)]) -> String {
    let mut b = text.as_bytes().to_vec();
    for &(pos, byte) in edits {
        let i = pos % b.len();
        b[i] = byte;
    }
    String::from_utf8_lossy(&b).into_owned()
}

const VALUES: &[&str] = &[
    "NaN",
    "-Infinity",
    "Infinity",
    "0",
    "-1",
    "1e308",
    "1e999",
    "-0.0",
    "\"x\"",
    "null",
    "[]",
    "{}",
    "[1,2]",
    "true",
    "123456789012345678901234567890",
    "0.5",
];

/// Replaces the n-th number of the text with one of [`VALUES`].
fn replace_number(text: &str, n: usize, v: &str) -> String {
    let b = text.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() || b[i] == b'-' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_digit() || b"-+.eE".contains(&b[i])) {
                i += 1;
            }
            starts.push((s, i));
        } else {
            i += 1;
        }
    }
    let (s, e) = starts[n % starts.len()];
    format!("{}{}{}", &text[..s], v, &text[e..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_bytes_never_panic(
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        which in 0usize..2,
    ) {
        if which == 0 {
            check(&mutate(GT, &edits), DT);
        } else {
            check(GT, &mutate(DT, &edits));
        }
    }

    #[test]
    fn mutated_values_never_panic(n in any::<usize>(), v in 0usize..VALUES.len(), which in 0usize..2) {
        if which == 0 {
            check(&replace_number(GT, n, VALUES[v]), DT);
        } else {
            check(GT, &replace_number(DT, n, VALUES[v]));
        }
    }

    #[test]
    fn deleted_spans_never_panic(start in any::<usize>(), len in 1usize..40, which in 0usize..2) {
        let cut = |t: &str| {
            let s = start % t.len();
            let e = (s + len).min(t.len());
            format!("{}{}", &t[..s], &t[e..])
        };
        if which == 0 { check(&cut(GT), DT) } else { check(GT, &cut(DT)) }
    }
}

#[test]
fn unmutated_inputs_evaluate() {
    let r = evaluate_texts(GT, "gt.json", DT, "dt.json").expect("valid input");
    assert!(r.ap > 0.0);
}
