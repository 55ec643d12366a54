//! The key file: the data key sealed per account and for the recovery key, real
//! files in a temporary directory, and a re-wrap killed at random moments.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_core::keys::{DataKey, Holder, KdfCost, KeyError, Keystore, RecoveryKey};
use std::path::{Path, PathBuf};

const COST: KdfCost = KdfCost::FOR_TESTS;

fn new_store(dir: &Path) -> (PathBuf, Keystore, DataKey, RecoveryKey) {
    let path = Keystore::path_in(dir);
    let (store, key, recovery) = Keystore::create(&path, "Admin", "first password", COST).unwrap();
    (path, store, key, recovery)
}

fn load(path: &Path) -> Keystore {
    Keystore::load(path).unwrap().unwrap().with_cost(COST)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_data_key_is_never_in_the_file_and_only_the_right_secrets_unseal_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, key, recovery) = new_store(dir.path());
    let raw = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&raw).to_lowercase();
    assert!(!text.contains(&hex(key.bytes())), "the data key in hex");
    assert!(
        !raw.windows(32).any(|w| w == key.bytes()),
        "the data key in bytes"
    );
    assert!(!text.contains("first password"));
    assert!(!text.contains(&recovery.display().replace('-', "").to_lowercase()));

    let store = load(&path);
    // Usernames compare as the accounts table does: ASCII case folded.
    let opened = store.unlock("admin", "first password").unwrap();
    assert_eq!(opened.bytes(), key.bytes());
    assert!(store.can_unlock("ADMIN"));
    assert!(matches!(
        store.unlock("admin", "First password"),
        Err(KeyError::WrongSecret)
    ));
    assert!(matches!(
        store.unlock("nobody", "first password"),
        Err(KeyError::WrongSecret)
    ));
    let by_recovery = store.unlock_with_recovery(&recovery).unwrap();
    assert_eq!(by_recovery.bytes(), key.bytes());
    assert_eq!(
        store.holders(),
        vec![Holder::account("admin"), Holder::Recovery]
    );
    assert!(matches!(
        Keystore::create(&path, "x", "y", COST),
        Err(KeyError::Exists(_))
    ));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key file is its owner's only");
    }
}

#[test]
fn the_recovery_key_reads_as_people_type_it_and_a_new_one_retires_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store, key, recovery) = new_store(dir.path());
    let shown = recovery.display().to_string();
    assert_eq!(shown.len(), 39, "{shown}");
    assert_eq!(shown.split('-').count(), 8);
    assert!(shown
        .split('-')
        .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_alphanumeric())));

    let typed = shown.to_lowercase().replace('-', " ");
    let reread = RecoveryKey::parse(&typed).unwrap();
    assert_eq!(
        store.unlock_with_recovery(&reread).unwrap().bytes(),
        key.bytes()
    );
    // 0 and 1 typed as the letters they look like.
    let as_letters = shown.replace('0', "O").replace('1', "l");
    assert!(store
        .unlock_with_recovery(&RecoveryKey::parse(&as_letters).unwrap())
        .is_ok());
    let with_u = format!("U{}", &shown[1..]);
    let too_long = format!("{shown}-AAAA");
    for bad in ["", "ABCD-EFGH", &too_long, &with_u, "ÄBCD"] {
        assert!(
            matches!(RecoveryKey::parse(bad), Err(KeyError::RecoveryFormat)),
            "{bad:?}"
        );
    }

    let renewed = store.reissue_recovery(&key).unwrap();
    let store = load(&path);
    assert!(matches!(
        store.unlock_with_recovery(&recovery),
        Err(KeyError::WrongRecoveryKey)
    ));
    assert_eq!(
        store.unlock_with_recovery(&renewed).unwrap().bytes(),
        key.bytes()
    );
    assert_eq!(
        store
            .holders()
            .iter()
            .filter(|h| **h == Holder::Recovery)
            .count(),
        1
    );
}

#[test]
fn a_changed_password_rewraps_a_removed_account_cannot_unlock_and_no_other_key_is_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store, key, _) = new_store(dir.path());
    store.wrap_for(&key, "ana", "ana's password").unwrap();
    store.wrap_for(&key, "admin", "second password").unwrap();

    let store_again = load(&path);
    assert!(matches!(
        store_again.unlock("admin", "first password"),
        Err(KeyError::WrongSecret)
    ));
    assert_eq!(
        store_again
            .unlock("admin", "second password")
            .unwrap()
            .bytes(),
        key.bytes()
    );
    assert_eq!(
        store_again.unlock("ana", "ana's password").unwrap().bytes(),
        key.bytes()
    );

    assert!(store.remove("ANA").unwrap());
    assert!(!store.remove("ana").unwrap());
    let store_again = load(&path);
    assert!(!store_again.can_unlock("ana"));
    assert!(matches!(
        store_again.unlock("ana", "ana's password"),
        Err(KeyError::WrongSecret)
    ));

    // Another installation's key would lock its holder out of this one's data.
    let other = tempfile::tempdir().unwrap();
    let (_, _, other_key, _) = new_store(other.path());
    assert!(matches!(
        store.wrap_for(&other_key, "ana", "x"),
        Err(KeyError::OtherKey)
    ));
    assert!(matches!(
        store.reissue_recovery(&other_key),
        Err(KeyError::OtherKey)
    ));
}

#[test]
fn a_tampered_wrap_or_file_is_refused_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store, key, _) = new_store(dir.path());
    store.wrap_for(&key, "ana", "same password").unwrap();
    store.wrap_for(&key, "admin", "same password").unwrap();
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let write = |value: &serde_json::Value| {
        std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
    };
    let wrap_of = |value: &serde_json::Value, name: &str| {
        value["wraps"]
            .as_array()
            .unwrap()
            .iter()
            .position(|w| w["holder"]["username"] == name)
            .unwrap()
    };

    // One flipped digit of the sealed key.
    let mut flipped = original.clone();
    let i = wrap_of(&flipped, "ana");
    let sealed = flipped["wraps"][i]["sealed"].as_str().unwrap().to_string();
    let digit = if sealed.starts_with('0') { "1" } else { "0" };
    flipped["wraps"][i]["sealed"] = format!("{digit}{}", &sealed[1..]).into();
    write(&flipped);
    assert!(matches!(
        load(&path).unlock("ana", "same password"),
        Err(KeyError::WrongSecret)
    ));

    // Holders swapped between two wraps with the same password: each wrap's tag
    // binds its holder, so neither opens under the other's name.
    let mut swapped = original.clone();
    let (a, b) = (wrap_of(&swapped, "ana"), wrap_of(&swapped, "admin"));
    let holder_a = swapped["wraps"][a]["holder"].clone();
    swapped["wraps"][a]["holder"] = swapped["wraps"][b]["holder"].clone();
    swapped["wraps"][b]["holder"] = holder_a;
    write(&swapped);
    let store = load(&path);
    assert!(store.unlock("ana", "same password").is_err());
    assert!(store.unlock("admin", "same password").is_err());

    // A cost that would exhaust memory is refused before any work.
    let mut costly = original.clone();
    let i = wrap_of(&costly, "ana");
    costly["wraps"][i]["kdf"]["memory_kib"] = (1u64 << 31).into();
    write(&costly);
    assert!(matches!(
        load(&path).unlock("ana", "same password"),
        Err(KeyError::Damaged { .. })
    ));

    let mut newer = original.clone();
    newer["format"] = 2.into();
    write(&newer);
    assert!(matches!(
        Keystore::load(&path),
        Err(KeyError::TooNew { found: 2, .. })
    ));

    std::fs::write(&path, b"{ not json").unwrap();
    assert!(matches!(
        Keystore::load(&path),
        Err(KeyError::Damaged { .. })
    ));
    std::fs::remove_file(&path).unwrap();
    assert!(Keystore::load(&path).unwrap().is_none());
}

#[test]
fn the_apps_own_cost_makes_wraps_that_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = Keystore::path_in(dir.path());
    let (_, key, _) = Keystore::create(&path, "admin", "pw", KdfCost::DEFAULT).unwrap();
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(file.contains("\"memory_kib\": 65536"), "{file}");
    let store = Keystore::load(&path).unwrap().unwrap();
    assert_eq!(store.unlock("admin", "pw").unwrap().bytes(), key.bytes());
}

const CHILD_ENV: &str = "CARDIORISK_REWRAP_CHILD";

/// Child mode only (a no-op in a normal run): changes the admin's password back and
/// forth between two, saying on stdout after each save which one is current.
#[test]
fn rewrap_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let path = Keystore::path_in(Path::new(&dir));
    let mut store = load(&path);
    let key = store
        .unlock("admin", "first password")
        .or_else(|_| store.unlock("admin", "second password"))
        .unwrap();
    for n in 0u64.. {
        let password = if n % 2 == 0 {
            "second password"
        } else {
            "first password"
        };
        store.wrap_for(&key, "admin", password).unwrap();
        println!("saved {password}");
    }
}

#[test]
fn a_rewrap_killed_at_any_moment_leaves_the_old_or_the_new_password_working() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let (path, _, key, recovery) = new_store(dir.path());
    let mut moments = support::KillMoments::new();
    for _ in 0..8 {
        let saves_before_kill = 1 + moments.next() % 12;
        let mut child = support::spawn_child_test("rewrap_child", CHILD_ENV, dir.path());
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut last_saved = None;
        let mut saves = 0;
        for line in out.lines() {
            let line = line.unwrap();
            if let Some(password) = line.strip_prefix("saved ") {
                last_saved = Some(password.to_string());
                saves += 1;
                if saves == saves_before_kill {
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(last_saved.is_some(), "the child saved at least once");

        let store = load(&path);
        let opened = ["first password", "second password"]
            .iter()
            .filter_map(|p| store.unlock("admin", p).ok())
            .collect::<Vec<_>>();
        assert_eq!(opened.len(), 1, "exactly one of the two passwords opens");
        assert_eq!(opened[0].bytes(), key.bytes());
        assert!(store.unlock_with_recovery(&recovery).is_ok());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "keys.json" && !n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
