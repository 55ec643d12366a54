//! Plain decimals (`2.5`, `30`, `0.85`) parsed without the general float parser: the
//! digits become an integer below 2^53 and one division by an exact power of ten
//! gives the correctly rounded value, the same `f64` as `str::parse` (Clinger's fast
//! path). Anything else (signs, exponents, long mantissas) goes to `str::parse`.

/// Powers of ten that are exact in an `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The value of `text` as `str::parse::<f64>` gives it, or `None` where it fails.
pub fn parse_number(text: &str) -> Option<f64> {
    plain_decimal(text.as_bytes()).or_else(|| text.parse().ok())
}

fn plain_decimal(bytes: &[u8]) -> Option<f64> {
    let mut mantissa: u64 = 0;
    let mut digits = 0u32;
    let mut fraction = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                digits += 1;
                if digits > 15 {
                    return None;
                }
            }
            b'.' if fraction.is_none() => fraction = Some(i),
            _ => return None,
        }
    }
    let decimals = match fraction {
        // "5." and ".5" are numbers to str::parse too, but rare: leave them to it.
        Some(dot) if dot == 0 || dot + 1 == bytes.len() => return None,
        Some(dot) => bytes.len() - dot - 1,
        None => 0,
    };
    if digits == 0 {
        return None;
    }
    Some(mantissa as f64 / POW10[decimals])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_std(text: &str) {
        let std: Option<f64> = text.parse().ok();
        let ours = parse_number(text);
        assert_eq!(
            ours.map(f64::to_bits),
            std.map(f64::to_bits),
            "{text:?}: {ours:?} vs {std:?}"
        );
    }

    #[test]
    fn every_form_gives_the_same_value_as_the_standard_parser() {
        for text in [
            "0",
            "1",
            "30",
            "2.5",
            "0.85",
            "1.0",
            "099",
            "00.10",
            "123456789012345",
            "1234567890123456",
            "0.1234567890123456789",
            "1.",
            ".5",
            ".",
            "",
            "-1.5",
            "+2",
            "1e3",
            "1E-2",
            "inf",
            "NaN",
            "1..2",
            "1,5",
            " 1",
            "9007199254740993",
            "0.000000000000000000000001",
        ] {
            same_as_std(text);
        }
    }

    #[test]
    fn random_decimals_match_the_standard_parser_bit_for_bit() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let whole = next() % 1_000;
            let places = (next() % 16) as usize;
            let fraction = next() % 10u64.pow(places as u32).max(1);
            let text = if places == 0 {
                format!("{whole}")
            } else {
                format!("{whole}.{fraction:0places$}")
            };
            same_as_std(&text);
        }
    }
}
