//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;
use std::collections::HashSet;

#[test]
fn an_id_is_43_base64url_characters() {
    let id = SessionId::generate().unwrap();
    assert_eq!(id.as_str().len(), 43);
    assert!(
        id.as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}

#[test]
fn ten_thousand_ids_are_all_different() {
    let ids: HashSet<String> = (0..10_000)
        .map(|_| SessionId::generate().unwrap().as_str().to_owned())
        .collect();
    assert_eq!(ids.len(), 10_000);
}

#[test]
fn only_ids_of_the_issued_shape_parse() {
    let id = SessionId::generate().unwrap();
    assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
    let too_short = &id.as_str()[..42];
    let padded = format!("{}=", id.as_str());
    let standard_alphabet = id.as_str().replace('-', "+").replace('_', "/");
    for bad in ["", "admin", too_short, &padded, "A".repeat(44).as_str()] {
        assert_eq!(SessionId::parse(bad), None, "{bad:?}");
    }
    if standard_alphabet != id.as_str() {
        assert_eq!(SessionId::parse(&standard_alphabet), None);
    }
}

#[test]
fn the_key_is_the_sha256_of_the_id_and_does_not_contain_it() {
    let id = SessionId::generate().unwrap();
    let key = id.key();
    assert_eq!(key, SessionId::parse(id.as_str()).unwrap().key());
    assert_eq!(key.to_hex().len(), 64);
    assert!(!key.to_hex().contains(id.as_str()));
    assert_ne!(key, SessionId::generate().unwrap().key());
}

#[test]
fn debug_output_hides_the_id() {
    let id = SessionId::generate().unwrap();
    assert!(!format!("{id:?}").contains(id.as_str()));
}

#[test]
fn entropy_agrees_with_counting_every_possible_string() {
    // Count the strings rather than trust the formula: every 3-symbol
    // string over a 4-letter alphabet, each equally likely.
    let alphabet = ['a', 'b', 'c', 'd'];
    let mut strings = HashSet::new();
    for first in alphabet {
        for second in alphabet {
            for third in alphabet {
                strings.insert([first, second, third]);
            }
        }
    }
    assert_eq!(entropy_bits(3, 4), (strings.len() as f64).log2());
    // A six-digit code: a million values, just under 20 bits.
    assert!((entropy_bits(6, 10) - 1e6f64.log2()).abs() < 1e-9);
}

#[test]
fn guessing_a_six_digit_code_takes_no_time_at_all() {
    let seconds = expected_seconds_to_guess(entropy_bits(6, 10), 1.0, 1_000.0);
    assert!(seconds < 1_000.0, "{seconds}");
}

#[test]
fn a_key_reads_back_from_its_hex_and_nothing_else_does() {
    let key = SessionId::generate().unwrap().key();
    assert_eq!(SessionKey::from_hex(&key.to_hex()), Some(key));
    for bad in ["", "zz", &"0".repeat(63), &"g".repeat(64), &"é".repeat(32)] {
        assert_eq!(SessionKey::from_hex(bad), None, "{bad:?}");
    }
}

#[test]
fn an_id_with_a_shard_is_43_base64url_characters_a_dot_and_the_shard() {
    let id = SessionId::generate_in(Some(10_419)).unwrap();
    let (random, shard) = id.as_str().split_once('.').unwrap();
    assert_eq!((random.len(), shard), (43, "10419"));
    let parsed = SessionId::parse(id.as_str()).unwrap();
    assert_eq!(parsed.key().shard(), Some(10_419));
    assert_eq!(
        parsed.key().to_hex(),
        SessionId::parse(random).unwrap().key().to_hex()
    );
    // Only the shard as we write it: no sign, no leading zero, no empty one.
    for shard in ["010419", "+10419", "", "x", "10419.1"] {
        assert!(
            SessionId::parse(&format!("{random}.{shard}")).is_none(),
            "{shard:?}"
        );
    }
}

#[test]
fn only_the_canonical_last_character_parses() {
    // 43 characters carry 258 bits: the last character's low two bits
    // must be zero, as the encoder writes them, or four spellings of one ID
    // would all be accepted.
    let id = SessionId::generate().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (value, last) in alphabet.chars().enumerate() {
        let spelled = format!("{}{last}", &id.as_str()[..42]);
        assert_eq!(
            SessionId::parse(&spelled).is_some(),
            value % 4 == 0,
            "{spelled}"
        );
    }
}

/// [`SessionId::parse`] as it was before the ID was decoded on the stack.
fn parsed_as_before(presented: &str) -> bool {
    let (random, shard) = match presented.split_once('.') {
        Some((random, shard)) => (random, Some(shard)),
        None => (presented, None),
    };
    let decoded = URL_SAFE_NO_PAD.decode(random).ok();
    let shard_as_issued = shard.is_none_or(|shard| {
        shard
            .parse::<u32>()
            .is_ok_and(|number| number.to_string() == shard)
    });
    decoded.is_some_and(|decoded| decoded.len() == SESSION_ID_BYTES)
        && random.len() == 43
        && shard_as_issued
}

#[test]
fn every_id_one_edit_away_parses_as_before() {
    // Every character of an issued ID (and of one with a shard) replaced by
    // each of the alphabet, padding, a dot, a plus, a slash, a space and a
    // non-ASCII letter; removed; or one added before it: parse accepts
    // exactly what it accepted before.
    let alphabet: Vec<char> =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.+/ é"
            .chars()
            .collect();
    let id = SessionId::generate().unwrap();
    let mut tried = 0_usize;
    let mut accepted = 0_usize;
    for issued in [id.as_str().to_owned(), format!("{}.10419", id.as_str())] {
        let chars: Vec<char> = issued.chars().collect();
        for at in 0..=chars.len() {
            let mut edits = Vec::new();
            for &c in &alphabet {
                if at < chars.len() {
                    let mut replaced = chars.clone();
                    replaced[at] = c;
                    edits.push(replaced);
                }
                let mut added = chars.clone();
                added.insert(at, c);
                edits.push(added);
            }
            if at < chars.len() {
                let mut removed = chars.clone();
                removed.remove(at);
                edits.push(removed);
            }
            for edit in edits {
                let edit: String = edit.into_iter().collect();
                let before = parsed_as_before(&edit);
                assert_eq!(SessionId::parse(&edit).is_some(), before, "{edit:?}");
                tried += 1;
                accepted += usize::from(before);
            }
        }
    }
    // 43 and 49 characters: each replaced (70 ways) or removed, and 70
    // additions at each of 44 and 50 places.
    assert_eq!(tried, (43 + 49) * 71 + (44 + 50) * 70);
    assert!(accepted > 1_000, "only {accepted} accepted");
}
