//! The interface's language and units, and its texts by key from the shared
//! catalogues (`i18n/locales/*.ftl`): `t("patients")`. Errors from the backend arrive
//! as codes and are worded here in the chosen language.

use cardiorisk_contract::{delocalised_number, localised_number, time_text, LocalTime, Zone};
use cardiorisk_contract::{CommandError, FieldError, FieldSpec, Problem, RiskBand};
pub use cardiorisk_contract::{Language, Units};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

static LANG: OnceLock<RwSignal<Language>> = OnceLock::new();
static UNITS: OnceLock<RwSignal<Units>> = OnceLock::new();

pub fn init_units() -> RwSignal<Units> {
    *UNITS.get_or_init(|| RwSignal::new(Units::Original))
}

/// The current units; tracked when read inside a reactive closure.
pub fn units() -> Units {
    UNITS.get().map(|s| s.get()).unwrap_or(Units::Original)
}

/// Called once by the root component, whose owner lives as long as the page.
pub fn init() -> RwSignal<Language> {
    *LANG.get_or_init(|| RwSignal::new(Language::English))
}

/// The current language; tracked when read inside a reactive closure.
pub fn lang() -> Language {
    LANG.get().map(|s| s.get()).unwrap_or(Language::English)
}

thread_local! {
    /// Each text worded once per language: a few hundred short strings for the page's life.
    static WORDED: RefCell<HashMap<(Language, &'static str), &'static str>> =
        RefCell::new(HashMap::new());
}

/// The text of `key` in the current language.
pub fn t(key: &'static str) -> &'static str {
    let language = lang();
    WORDED.with(|cache| {
        *cache
            .borrow_mut()
            .entry((language, key))
            .or_insert_with(|| Box::leak(cardiorisk_i18n::text(language, key).into_boxed_str()))
    })
}

/// A text for a view that follows language changes.
pub fn tr(key: &'static str) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || t(key)
}

/// The text of `key` with its `{ $name }` arguments, in the current language.
pub fn tf(key: &str, args: &[(&str, &str)]) -> String {
    cardiorisk_i18n::format(lang(), key, args)
}

/// A stored value as shown, without its unit ("2.4", or "240" in mg/dL).
pub fn show_value(spec: &FieldSpec, value: f64) -> String {
    spec.shown(lang(), units(), value)
}

/// Typed text in the shown unit (with the language's decimal separator or the point)
/// to the model's value, checked against the field's rules.
pub fn parse_shown(spec: &FieldSpec, text: &str) -> Result<f64, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::Missing);
    }
    let typed: f64 = delocalised_number(lang(), text)
        .parse()
        .map_err(|_| Problem::NotANumber)?;
    if !typed.is_finite() {
        return Err(Problem::NotFinite);
    }
    let value = typed / spec.factor(units());
    spec.check(value)?;
    Ok(value)
}

pub fn field_label(spec: &FieldSpec) -> String {
    spec.label(lang())
}

pub fn field_unit(spec: &FieldSpec) -> String {
    spec.unit(lang(), units())
}

pub fn range_text(spec: &FieldSpec) -> String {
    spec.range_text(lang(), units())
}

/// The inline message for one measurement; names the field and its valid range.
pub fn field_error(spec: &FieldSpec, problem: Problem) -> String {
    FieldError::new(spec, problem).worded(lang(), units())
}

/// The inline message for any field the backend or a local check refused.
pub fn field_message(error: &FieldError) -> String {
    error.worded(lang(), units())
}

pub fn band_label(band: RiskBand) -> String {
    band.label(lang())
}

pub fn yes_no(flag: bool) -> &'static str {
    t(if flag { "word-yes" } else { "word-no" })
}

/// What to show for a backend error, in the current language.
pub fn error_text(e: &CommandError) -> String {
    e.worded(lang(), units())
}

/// How many shown units make one stored unit in the current units.
pub fn factor(spec: &FieldSpec) -> f64 {
    spec.factor(units())
}

/// The computer's time zone as the webview knows it (the process's, hence the
/// backend's too): offsets from `Date`, the name from `Intl`.
pub struct LocalZone;

impl Zone for LocalZone {
    fn offset_at(&self, unix: i64) -> i32 {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
        // `getTimezoneOffset` is UTC minus local, in minutes.
        (-date.get_timezone_offset() * 60.0) as i32
    }

    fn name(&self) -> Option<String> {
        let format =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into())
            .ok()?
            .as_string()
    }
}

/// A stored (UTC) time as the clinician reads it: local, in the language's format.
pub fn when(rfc3339: &str) -> String {
    time_text(lang(), &LocalZone, rfc3339)
}

/// The local day and month ("11-30", "30/11" in Spanish) and time ("09:15") of a
/// stored time, for chart labels.
pub fn day_month(rfc3339: &str) -> (String, String) {
    match LocalTime::of(rfc3339, &LocalZone) {
        Some(t) => (
            t.day_month(lang()),
            format!("{:02}:{:02}", t.hour, t.minute),
        ),
        None => (rfc3339.to_string(), String::new()),
    }
}

/// A number in the current language's way: "2,4" in Spanish.
pub fn number(plain: String) -> String {
    localised_number(lang(), plain)
}
