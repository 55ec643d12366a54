//! Loading model files: the embedded model, and every way a file can be wrong.

use cardiorisk_contract::Measurements;
use cardiorisk_model::artefact::{ModelError, ModelPayload};
use cardiorisk_model::predictor::EMBEDDED_MODEL;
use cardiorisk_model::Predictor;

#[test]
fn the_embedded_model_loads_and_scores_known_patients() {
    let p = Predictor::embedded();
    assert!(!p.version().is_empty());
    let risky = Measurements::from_array([2.5, 1.6, 0.8, 30.0, 0.0, 0.0]);
    let healthy = Measurements::from_array([1.5, 1.0, 0.8, 30.0, 0.0, 0.0]);
    assert!(p.predict(&risky).unwrap().at_risk);
    assert!(!p.predict(&healthy).unwrap().at_risk);
    let rows = [risky, healthy].map(|m| m.to_array().map(|v| v as f32));
    let batch = p.probabilities(&rows);
    assert!((batch[0] as f64 - p.probability(&risky)).abs() < 1e-6);
}

#[test]
fn a_round_trip_through_a_file_is_exact() {
    let payload = ModelPayload::from_bytes(EMBEDDED_MODEL).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    payload.write_atomic(&path).unwrap();
    assert_eq!(ModelPayload::read(&path).unwrap(), payload);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
}

#[test]
fn truncated_files_are_refused() {
    for cut in [0, 10, EMBEDDED_MODEL.len() / 2, EMBEDDED_MODEL.len() - 1] {
        let err = ModelPayload::from_bytes(&EMBEDDED_MODEL[..cut]).unwrap_err();
        assert!(matches!(err, ModelError::Malformed(_)), "cut {cut}: {err}");
    }
}

#[test]
fn a_changed_weight_fails_the_checksum() {
    let text = String::from_utf8(EMBEDDED_MODEL.to_vec()).unwrap();
    let at = text.find("\"weight\":[").unwrap() + 10;
    let digit = text[at..].find(|c: char| c.is_ascii_digit()).unwrap() + at;
    let mut bytes = text.into_bytes();
    bytes[digit] = if bytes[digit] == b'1' { b'2' } else { b'1' };
    assert!(matches!(
        ModelPayload::from_bytes(&bytes),
        Err(ModelError::Checksum)
    ));
}

#[test]
fn another_format_version_is_incompatible() {
    let text = String::from_utf8(EMBEDDED_MODEL.to_vec()).unwrap();
    let other = text.replacen("\"format_version\":1", "\"format_version\":2", 1);
    let err = ModelPayload::from_bytes(other.as_bytes()).unwrap_err();
    assert!(matches!(err, ModelError::Incompatible { .. }), "{err}");
    assert!(err.to_string().contains("format 2 is not supported"));
}

#[test]
fn inconsistent_shapes_are_refused_even_with_a_valid_checksum() {
    let mut payload = ModelPayload::from_bytes(EMBEDDED_MODEL).unwrap();
    payload.layers[0].weight.pop();
    let err = ModelPayload::from_bytes(&payload.to_bytes()).unwrap_err();
    assert!(matches!(err, ModelError::Invalid(_)), "{err}");

    let mut payload = ModelPayload::from_bytes(EMBEDDED_MODEL).unwrap();
    payload.scaler.std[2] = 0.0;
    assert!(matches!(
        ModelPayload::from_bytes(&payload.to_bytes()),
        Err(ModelError::Invalid(_))
    ));
}

#[test]
fn a_non_model_file_is_refused() {
    let err = ModelPayload::from_bytes(b"{\"hello\": 1}").unwrap_err();
    assert!(
        err.to_string().starts_with("not a CardioRisk model file"),
        "{err}"
    );
}

/// Finite weights whose output is NaN everywhere: the hidden layers give 1e30 on
/// every unit and the output layer adds +inf and -inf.
fn nan_model() -> ModelPayload {
    let mut payload = ModelPayload::from_bytes(EMBEDDED_MODEL).unwrap();
    let last = payload.layers.len() - 1;
    for (i, layer) in payload.layers.iter_mut().enumerate() {
        if i < last {
            layer.weight.iter_mut().for_each(|w| *w = 0.0);
            layer.bias.iter_mut().for_each(|b| *b = 1e30);
        } else {
            for (j, w) in layer.weight.iter_mut().enumerate() {
                *w = if j % 2 == 0 { 1e30 } else { -1e30 };
            }
        }
    }
    payload.version = "nan-output".into();
    payload
}

#[test]
fn a_model_whose_output_is_not_a_probability_is_refused_at_load() {
    let payload = nan_model();
    assert!(payload
        .layers
        .iter()
        .flat_map(|l| &l.weight)
        .all(|w| w.is_finite()));
    let bytes = payload.to_bytes();
    let err = Predictor::from_bytes(&bytes).unwrap_err();
    assert!(matches!(err, ModelError::Output(_)), "{err}");
    assert!(err.to_string().contains("not a probability"), "{err}");
}
