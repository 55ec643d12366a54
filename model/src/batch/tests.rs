//! The batch against the sequential code it replaced, byte for byte, and its limits.

use super::chunk::push_fixed6;
use super::*;
use crate::data::csv_error;
use crate::predictor::is_probability;

mod unit {
    use super::*;

    /// An output that refuses every write, as a full disk would.
    struct FullDisk;

    impl Write for FullDisk {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("no space left on device"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_output_that_cannot_be_written_is_called_a_write_error() {
        let rows: String = (0..20_000)
            .map(|i| format!("{i},2.5,1.6,0.8,30,0,0\n"))
            .collect();
        let input = format!(",colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n{rows}");
        let e = score_csv(input.as_bytes(), FullDisk, &Predictor::embedded()).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("cannot write the output file"), "{text}");
        assert!(text.contains("no space left"), "{text}");
    }

    #[test]
    fn scores_valid_rows_and_explains_invalid_ones() {
        let input = ",colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,note\n\
                     0,2.5,1.6,0.8,30,0,0,a\n\
                     1,9,1.6,0.8,30,0,0,b\n\
                     2,1.5,1.0,0.8,30,0,0,c\n";
        let mut out = Vec::new();
        let summary = score_csv(input.as_bytes(), &mut out, &Predictor::embedded()).unwrap();
        assert_eq!(
            summary,
            BatchSummary {
                rows: 3,
                scored: 2,
                invalid: 1,
                failed: 0,
            }
        );
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            ",colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,note,probability,at_risk,error"
        );
        let first: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(first[..8], ["0", "2.5", "1.6", "0.8", "30", "0", "0", "a"]);
        assert!(first[8].parse::<f64>().unwrap() > 0.9, "{}", lines[1]);
        assert_eq!(first[9..], ["1", ""]);
        assert!(
            lines[2].ends_with(",,,colesterol is out of range: valid is 1.0 to 3.0 g/L"),
            "{}",
            lines[2]
        );
        assert!(lines[3].ends_with(",0,"), "{}", lines[3]);
    }

    #[test]
    fn six_decimals_round_as_the_formatter_does() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut values: Vec<f32> = (0..2_000_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect();
        // Ties at the sixth decimal: k/128 is exactly half a millionth away from one.
        values.extend((0..=128).map(|k| k as f32 / 128.0));
        values.extend([0.0, 1.0, 0.5, 0.999_999_5, 0.000_000_5, f32::MIN_POSITIVE]);
        for v in values {
            let p = f64::from(v);
            let mut ours = Vec::new();
            push_fixed6(&mut ours, p);
            assert_eq!(String::from_utf8(ours).unwrap(), format!("{p:.6}"), "{v:e}");
        }
    }
}

/// The scoring before it was split into parallel chunks, kept as the reference the
/// streaming one must match byte for byte.
mod reference {
    use super::*;
    use crate::data::LineGuard;

    const CHUNK_ROWS: usize = 4096;
    const CHUNK_BYTES: usize = 4 << 20;

    fn score_csv_sequential(
        input: impl Read,
        output: impl Write,
        predictor: &Predictor,
    ) -> Result<BatchSummary, DataError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(LineGuard::new(input));
        let headers = reader.headers().map_err(csv_error)?.clone();
        let columns = Columns::find(&headers, false)?;
        let mut writer = csv::Writer::from_writer(output);
        let mut header_out = headers.clone();
        header_out.extend(["probability", "at_risk", "error"]);
        writer.write_record(&header_out)?;

        let mut summary = BatchSummary {
            rows: 0,
            scored: 0,
            invalid: 0,
            failed: 0,
        };
        let mut chunk: Vec<csv::StringRecord> = Vec::with_capacity(CHUNK_ROWS);
        let mut record = csv::StringRecord::new();
        loop {
            let mut bytes = 0;
            chunk.clear();
            while chunk.len() < CHUNK_ROWS && bytes < CHUNK_BYTES {
                if !reader.read_record(&mut record).map_err(csv_error)? {
                    break;
                }
                bytes += record.as_slice().len();
                chunk.push(record.clone());
            }
            if chunk.is_empty() {
                break;
            }
            write_chunk(&chunk, &columns, predictor, &mut writer, &mut summary)?;
        }
        writer.flush().map_err(|source| DataError::Write {
            path: "output".into(),
            source,
        })?;
        Ok(summary)
    }

    fn write_chunk<W: Write>(
        records: &[csv::StringRecord],
        columns: &Columns,
        predictor: &Predictor,
        writer: &mut csv::Writer<W>,
        summary: &mut BatchSummary,
    ) -> Result<(), DataError> {
        let mut features = Vec::with_capacity(records.len());
        let mut errors = Vec::with_capacity(records.len());
        for record in records {
            match columns.inputs(record) {
                Ok(x) => {
                    features.push(x.map(|v| v as f32));
                    errors.push(None);
                }
                Err(e) => {
                    let text: Vec<String> = e.into_iter().map(|f| f.message).collect();
                    errors.push(Some(text.join("; ")));
                }
            }
        }
        let probabilities = predictor.probabilities(&features);
        let threshold = predictor.payload().threshold;
        let mut next = probabilities.iter();
        let mut out = csv::StringRecord::new();
        for (record, error) in records.iter().zip(&errors) {
            out.clone_from(record);
            summary.rows += 1;
            match error {
                None => {
                    let p = *next.next().expect("one probability per valid row") as f64;
                    if is_probability(p) {
                        summary.scored += 1;
                        out.push_field(&format!("{p:.6}"));
                        out.push_field(if p >= threshold { "1" } else { "0" });
                        out.push_field("");
                    } else {
                        summary.failed += 1;
                        out.push_field("");
                        out.push_field("");
                        out.push_field(&format!(
                            "the model gave no probability for this row ({p})"
                        ));
                    }
                }
                Some(e) => {
                    summary.invalid += 1;
                    out.push_field("");
                    out.push_field("");
                    out.push_field(e);
                }
            }
            writer.write_record(&out)?;
        }
        Ok(())
    }

    /// A file with every kind of row: plain, quoted (with commas, quotes and line
    /// breaks inside), CRLF and lone CR endings, blank lines, short and long rows,
    /// invalid values, unusual number forms, non-ASCII text.
    /// Rows of every form the batch meets; without `quoted`, none with a quote or a
    /// carriage return (the plain chunks' own path).
    fn tricky_file(rows: usize, seed: u64, quoted: bool) -> String {
        let mut state = seed | 1;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut s = String::from("id,colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,note\n");
        for i in 0..rows {
            let c = format!("{}.{}", 1 + next(2), next(10));
            let p = format!("{}.{}", next(2), 6 + next(4));
            let g = format!("{}.{}", next(2), 5 + next(5));
            let e = next(100).to_string();
            let (o, t) = (next(2), next(2));
            let form = match next(20) {
                0 | 1 | 2 | 7 | 8 if !quoted => 4,
                form => form,
            };
            let row = match form {
                0 => format!("{i},{c},{p},{g},{e},{o},{t},\"a, \"\"quoted\"\"\nnote\"\n"),
                1 => format!("{i},{c},{p},{g},{e},{o},{t},crlf\r\n"),
                2 => format!("{i},{c},{p},{g},{e},{o},{t},cr\r"),
                3 => "\n".to_string(),
                5 => format!("{i},9.9,{p},{g},{e},{o},{t},high\n"),
                6 => format!("{i}, {c} ,+{p},{g}e0,{e}.0,{o},{t},forms\n"),
                7 => format!("{i},{c},{p},{g},{e},{o},{t},\"ñandú, 李\"\n"),
                8 => format!("\"{i}\",\"{c}\",{p},{g},{e},{o},{t},\"\"\n"),
                9 => format!("{i},{c},{p},{g},{e},2,{t},flag\n"),
                10 => format!("{i},,{p},{g},abc,{o},{t},empty\n"),
                _ => format!("{i},{c},{p},{g},{e},{o},{t},plain\n"),
            };
            s.push_str(&row);
        }
        s
    }

    #[test]
    fn streaming_gives_the_same_bytes_as_the_sequential_reference() {
        let predictor = Predictor::embedded();
        let sizes = [(0, 1), (1, 2), (300, 3), (40_000, 4)];
        for (rows, seed, quoted) in sizes
            .iter()
            .flat_map(|&(rows, seed)| [(rows, seed, true), (rows, seed, false)])
        {
            let file = tricky_file(rows, seed, quoted);
            let mut expected = Vec::new();
            let want = score_csv_sequential(file.as_bytes(), &mut expected, &predictor).unwrap();
            for workers in [1, 2, 3] {
                let mut got = Vec::new();
                let summary =
                    score_csv_with(file.as_bytes(), &mut got, &predictor, workers).unwrap();
                assert_eq!(summary, want, "{rows} rows ({quoted}), {workers} workers");
                if got != expected {
                    let (g, e) = (
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&expected),
                    );
                    let first = g.lines().zip(e.lines()).position(|(a, b)| a != b);
                    panic!(
                        "{rows} rows ({quoted}), {workers} workers: first differing line {first:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_file_without_a_final_line_break_or_with_only_a_header_matches_too() {
        let predictor = Predictor::embedded();
        for file in [
            "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n2.5,1.6,0.8,30,0,0",
            "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo",
            "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\r\n2.5,1.6,0.8,30,0,0\r\n",
            "\u{feff}colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n2.5,1.6,0.8,30,0,0\n",
        ] {
            let mut expected = Vec::new();
            let want = score_csv_sequential(file.as_bytes(), &mut expected, &predictor).unwrap();
            let mut got = Vec::new();
            let summary = score_csv(file.as_bytes(), &mut got, &predictor).unwrap();
            assert_eq!((summary, got), (want, expected), "{file:?}");
        }
    }
}

mod streaming {
    use super::*;

    /// More rows than a chunk, with a bad row on each side of a chunk boundary: the
    /// output keeps the input's order and every row's own result.
    #[test]
    fn chunks_keep_row_order_across_boundaries() {
        let mut input = String::from("colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,id\n");
        let n: usize = 60_000;
        for i in 0..n {
            let bad = i % 7919 == 0;
            let colesterol = if bad { "9" } else { "2.5" };
            input.push_str(&format!("{colesterol},1.6,0.8,{},0,0,{i}\n", i % 100));
        }
        let mut out = Vec::new();
        let summary = score_csv(input.as_bytes(), &mut out, &Predictor::embedded()).unwrap();
        assert_eq!((summary.rows, summary.invalid), (n, n.div_ceil(7919)));
        let text = String::from_utf8(out).unwrap();
        for (i, line) in text.lines().skip(1).enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells[6], i.to_string(), "row order");
            let bad = i % 7919 == 0;
            assert_eq!(cells[9].is_empty(), !bad, "{line}");
        }
    }

    #[test]
    fn a_file_without_line_breaks_is_refused_not_buffered() {
        let zeros = std::io::repeat(0).take(10 << 20);
        let err = score_csv(zeros, std::io::sink(), &Predictor::embedded()).unwrap_err();
        assert!(matches!(err, DataError::LineTooLong), "{err}");
        let header = "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n".as_bytes();
        let err = score_csv(
            header.chain(std::io::repeat(b'7').take(10 << 20)),
            std::io::sink(),
            &Predictor::embedded(),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::LineTooLong), "{err}");
    }

    #[test]
    fn a_quote_never_closed_is_refused_once_the_record_passes_its_limit() {
        let mut input = b"colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n\"".to_vec();
        input.extend(std::iter::repeat_n(b"2.5,1.6,0.8,30,0,0\n".as_slice(), 200_000).flatten());
        let err = score_csv(input.as_slice(), std::io::sink(), &Predictor::embedded()).unwrap_err();
        assert!(matches!(err, DataError::RecordTooLong), "{err}");
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_naming_its_line() {
        let mut input = b"colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n".to_vec();
        for _ in 0..20_000 {
            input.extend_from_slice(b"2.5,1.6,0.8,30,0,0\n");
        }
        input.extend_from_slice(b"2.5,1.6,0.8,30,0,0,\xff\n");
        let err = score_csv(input.as_slice(), std::io::sink(), &Predictor::embedded()).unwrap_err();
        assert!(matches!(err, DataError::NotUtf8 { line: 20_002 }), "{err}");
    }

    /// A row with fewer or more cells than the header stops the batch naming its line
    /// (the output's columns would not line up), as the sequential scoring did.
    #[test]
    fn a_row_of_another_width_is_refused_naming_its_line() {
        for (row, cells) in [
            ("2.5,1.6,0.8\n", 3),
            ("2.5,1.6,0.8,30,0,0,x\n", 7),
            ("\"2.5\",1.6\r\n", 2),
        ] {
            let mut input = b"colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n".to_vec();
            for _ in 0..30_000 {
                input.extend_from_slice(b"2.5,1.6,0.8,30,0,0\n");
            }
            input.extend_from_slice(row.as_bytes());
            input.extend_from_slice(b"2.5,1.6,0.8,30,0,0\n");
            let err =
                score_csv(input.as_slice(), std::io::sink(), &Predictor::embedded()).unwrap_err();
            assert!(
                matches!(err, DataError::RowWidth { line: 30_002, cells: c, expected: 6 } if c == cells),
                "{row:?}: {err}"
            );
        }
    }
}
