//! The recovery key's text: generated, typed back (forgiving case, dashes and the
//! letters people confuse), and shown in groups for printing.

use super::KeyError;
use zeroize::{Zeroize, Zeroizing};

/// The recovery key: 160 random bits shown once as 8 groups of 4 characters
/// (Crockford's base 32: no I, L, O or U), to be printed and kept apart.
pub struct RecoveryKey(pub(super) Zeroizing<String>);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RECOVERY_CHARS: usize = 32;

impl RecoveryKey {
    pub(super) fn random() -> RecoveryKey {
        let mut bytes = Zeroizing::new([0u8; 20]);
        getrandom::fill(bytes.as_mut()).expect("the OS random source works");
        let mut text = Zeroizing::new(String::with_capacity(RECOVERY_CHARS));
        let mut bits = 0u32;
        let mut held = 0u32;
        for byte in bytes.iter() {
            held = (held << 8) | u32::from(*byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                text.push(CROCKFORD[((held >> bits) & 31) as usize] as char);
            }
            held &= (1 << bits) - 1;
        }
        held.zeroize();
        RecoveryKey(text)
    }

    /// Reads a recovery key as a person types it: any case, with or without the
    /// dashes and spaces, O for 0 and I or L for 1.
    pub fn parse(typed: &str) -> Result<RecoveryKey, KeyError> {
        let mut text = Zeroizing::new(String::with_capacity(RECOVERY_CHARS));
        for c in typed.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !CROCKFORD.contains(&(c as u8)) || !c.is_ascii() {
                return Err(KeyError::RecoveryFormat);
            }
            text.push(c);
        }
        if text.len() != RECOVERY_CHARS {
            return Err(KeyError::RecoveryFormat);
        }
        Ok(RecoveryKey(text))
    }

    /// The key as shown and printed: `XXXX-XXXX-…`, 8 groups.
    pub fn display(&self) -> Zeroizing<String> {
        let mut shown = Zeroizing::new(String::with_capacity(RECOVERY_CHARS + 7));
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                shown.push('-');
            }
            shown.push(c);
        }
        shown
    }
}

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}
