//! Every text CardioRisk shows or prints, in message catalogues: one Fluent file per
//! language under `i18n/locales/`, compiled into the binary. The UI, the reports,
//! the CLI and the gateway word their texts here, by key; errors travel as a code
//! with arguments and are worded in the reader's language.
//!
//! Adding a language is adding its `.ftl` file and one line to [`Language`]; the tests
//! refuse a catalogue that lacks a key another one has.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A language of the interface and the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Language {
    #[default]
    English,
    Spanish,
}

/// Each language: its tag and its catalogue.
const CATALOGUES: [(Language, &str, &str); 2] = [
    (Language::English, "en", include_str!("../locales/en.ftl")),
    (Language::Spanish, "es", include_str!("../locales/es.ftl")),
];

impl Language {
    pub const ALL: &'static [Language] = &[Language::English, Language::Spanish];

    /// The BCP 47 tag, as stored in preferences and sent over IPC ("en", "es").
    pub fn as_str(self) -> &'static str {
        CATALOGUES[self.index()].1
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|l| l.as_str() == text)
    }

    fn index(self) -> usize {
        match self {
            Language::English => 0,
            Language::Spanish => 1,
        }
    }
}

impl From<Language> for &'static str {
    fn from(value: Language) -> Self {
        value.as_str()
    }
}

impl TryFrom<String> for Language {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text).ok_or_else(|| format!("unknown Language: {text:?}"))
    }
}

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle] {
    static BUNDLES: OnceLock<Vec<Bundle>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        CATALOGUES
            .iter()
            .map(|(_, tag, source)| {
                let resource = FluentResource::try_new(source.to_string())
                    .unwrap_or_else(|(partial, _)| partial);
                let id = tag.parse().expect("catalogue tags are valid");
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                bundle.set_use_isolating(false);
                // A key defined twice keeps its first text; the tests refuse duplicates.
                let _ = bundle.add_resource(resource);
                bundle
            })
            .collect()
    })
}

/// The text of `key` in `language`; the key itself when no catalogue has it, so a
/// missing text shows up rather than disappearing.
pub fn text(language: Language, key: &str) -> String {
    format(language, key, &[])
}

/// The text of `key` with its `{ $name }` arguments filled in. Arguments travel as text.
pub fn format(language: Language, key: &str, args: &[(&str, &str)]) -> String {
    let bundle = &bundles()[language.index()];
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        return key.to_string();
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, FluentValue::from(*value));
    }
    let mut errors = Vec::new();
    bundle
        .format_pattern(pattern, Some(&fluent_args), &mut errors)
        .into_owned()
}

/// Whether `language`'s catalogue has `key`.
pub fn has(language: Language, key: &str) -> bool {
    bundles()[language.index()].has_message(key)
}

/// Every key of `language`'s catalogue, in file order.
pub fn keys(language: Language) -> Vec<String> {
    let (_, _, source) = CATALOGUES[language.index()];
    let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(r, _)| r);
    resource
        .entries()
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

/// What is wrong with a catalogue: parse errors, duplicate keys, and keys other
/// catalogues have and it lacks. Empty when every catalogue is whole.
pub fn problems() -> Vec<String> {
    let mut found = Vec::new();
    let english = keys(Language::English);
    for &(language, tag, source) in &CATALOGUES {
        if let Err((_, errors)) = FluentResource::try_new(source.to_string()) {
            found.extend(errors.iter().map(|e| format!("{tag}.ftl: {e:?}")));
        }
        let own = keys(language);
        let mut seen = std::collections::HashSet::new();
        for key in &own {
            if !seen.insert(key) {
                found.push(format!("{tag}.ftl defines {key} twice"));
            }
        }
        for key in english.iter().filter(|k| !own.contains(k)) {
            found.push(format!("{tag}.ftl lacks {key}"));
        }
        for key in own.iter().filter(|k| !english.contains(k)) {
            found.push(format!("{tag}.ftl has {key}, which en.ftl lacks"));
        }
        let mut errors = Vec::new();
        let bundle = &bundles()[language.index()];
        for key in &own {
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                bundle.format_pattern(pattern, None, &mut errors);
            }
        }
        // Unfilled arguments are expected here; anything else is a broken message.
        for e in errors {
            let text = format!("{e:?}");
            if !text.contains("Variable {") {
                found.push(format!("{tag}.ftl: {text}"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_parses_and_has_every_key_once() {
        let problems = problems();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert!(keys(Language::English).len() > 100);
    }

    #[test]
    fn arguments_are_filled_in_without_isolation_marks() {
        let text = format(Language::English, "error-no-patient", &[("id", "42")]);
        assert_eq!(text, "No patient has id 42.");
        let text = format(Language::Spanish, "error-no-patient", &[("id", "42")]);
        assert_eq!(text, "Ningún paciente tiene el id 42.");
    }

    #[test]
    fn text_is_kept_verbatim_even_when_it_looks_like_a_number() {
        let text = format(
            Language::English,
            "error-username-taken",
            &[("username", "007")],
        );
        assert_eq!(text, "The username 007 is taken.");
    }

    #[test]
    fn an_unknown_key_shows_itself() {
        assert_eq!(text(Language::Spanish, "no-such-key"), "no-such-key");
    }

    #[test]
    fn languages_travel_as_their_tags() {
        for &l in Language::ALL {
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.as_str()));
            assert_eq!(serde_json::from_str::<Language>(&json).unwrap(), l);
        }
        assert!(serde_json::from_str::<Language>("\"fr\"").is_err());
    }
}
