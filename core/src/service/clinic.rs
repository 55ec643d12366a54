//! Patients and their assessments: records, search, scoring, and the group commit
//! that stores an assessment with its audit row.

use super::*;

impl Services {
    pub fn create_patient(&self, token: &str, p: &PatientInput) -> Result<Patient, CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        p.check().map_err(CommandError::fields)?;
        let id = self.commit(
            |id: &i64| {
                Event::new(Action::PatientCreated, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("patient:{id}"))
                    .patient(Some(*id))
            },
            |tx| patients::insert(tx, p, actor.user_id).map_err(|e| conflict_or_internal(e, p)),
        )?;
        patients::get(&self.read(), id)
            .map_err(internal)?
            .ok_or_else(|| internal("the new patient vanished"))
    }

    pub fn update_patient(
        &self,
        token: &str,
        id: i64,
        p: &PatientInput,
    ) -> Result<Patient, CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        p.check().map_err(CommandError::fields)?;
        self.commit(
            |_| {
                Event::new(Action::PatientUpdated, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("patient:{id}"))
                    .patient(Some(id))
            },
            |tx| match patients::update(tx, id, p).map_err(|e| conflict_or_internal(e, p))? {
                0 => Err(not_found_patient(id)),
                _ => Ok(()),
            },
        )?;
        patients::get(&self.read(), id)
            .map_err(internal)?
            .ok_or_else(|| not_found_patient(id))
    }

    /// Patients whose name or record number contains `query`. Audited with the
    /// number of results, never the query's text (it may be a name).
    pub fn search_patients(
        &self,
        token: &str,
        query: &str,
        limit: u32,
    ) -> Result<Vec<Patient>, CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        check_limit(limit)?;
        let found = patients::search(&self.read(), query, limit).map_err(internal)?;
        let what = if query.trim().is_empty() {
            "the list, no query"
        } else {
            "a query"
        };
        self.record(
            Event::new(Action::PatientsSearched, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .detail(format!("{} result(s) shown for {what}", found.len())),
        );
        Ok(found)
    }

    /// A patient's record with their whole history (the record page and its charts),
    /// audited as a view of that patient.
    pub fn patient_record(&self, token: &str, id: i64) -> Result<PatientRecord, CommandError> {
        self.viewed(
            token,
            id,
            Action::PatientViewed,
            "record, history and charts",
        )
    }

    /// The same record, for the report page: audited as the report shown.
    pub fn report_record(&self, token: &str, id: i64) -> Result<PatientRecord, CommandError> {
        self.viewed(token, id, Action::ReportViewed, "report shown")
    }

    /// Notes that the report of patient `id` went to the system's print dialog.
    pub fn report_printed(&self, token: &str, id: i64) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        self.existing_patient(id)?;
        self.record(
            Event::new(Action::ReportPrinted, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .about(format!("patient:{id}"))
                .patient(Some(id))
                .detail("report sent to the print dialog"),
        );
        Ok(())
    }

    fn viewed(
        &self,
        token: &str,
        id: i64,
        action: Action,
        what: &str,
    ) -> Result<PatientRecord, CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        let record = self.load_record(id)?;
        self.record(
            Event::new(action, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .about(format!("patient:{id}"))
                .patient(Some(id))
                .detail(format!("{what}; {} assessment(s)", record.history.len())),
        );
        Ok(record)
    }

    /// The patient a report about to be exported is about (the shell names the file
    /// after the record number before the save dialog): a check that the session
    /// and the patient exist, not a view, so not audited; the export itself is.
    pub fn patient_for_report(&self, token: &str, id: i64) -> Result<Patient, CommandError> {
        self.session(token)?;
        self.existing_patient(id)
    }

    fn existing_patient(&self, id: i64) -> Result<Patient, CommandError> {
        patients::get(&self.read(), id)
            .map_err(internal)?
            .ok_or_else(|| not_found_patient(id))
    }

    /// The patient and their history, in one snapshot; not audited (callers are).
    pub(super) fn load_record(&self, id: i64) -> Result<PatientRecord, CommandError> {
        let conn = self.read();
        let snapshot = conn.unchecked_transaction().map_err(internal)?;
        let patient = patients::get(&snapshot, id)
            .map_err(internal)?
            .ok_or_else(|| not_found_patient(id))?;
        let history = patients::history(&snapshot, id).map_err(internal)?;
        Ok(PatientRecord { patient, history })
    }

    /// Validates, scores and stores one assessment and its audit event in a single
    /// transaction.
    pub fn assess(
        &self,
        token: &str,
        patient_id: Option<i64>,
        inputs: &Measurements,
    ) -> Result<AssessmentOutcome, CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        if let Err(e) = inputs.validate() {
            self.record(
                Event::new(Action::AssessmentRefused, Status::Invalid, started)
                    .by(actor.user_id, &actor.username)
                    .detail(e.to_string()),
            );
            return Err(e.into());
        }
        let prediction = match self.score(inputs) {
            Ok((p, _)) => p,
            Err(e) => {
                self.record(
                    Event::new(Action::AssessmentRefused, Status::Error, started)
                        .by(actor.user_id, &actor.username)
                        .detail(e.message.clone()),
                );
                return Err(e);
            }
        };
        let assessment_id = self.store_assessment(PendingAssessment {
            inputs: *inputs,
            prediction: prediction.clone(),
            patient_id,
            actor,
            started,
            reply: None,
        })?;
        Ok(AssessmentOutcome {
            prediction,
            assessment_id,
        })
    }

    /// Group commit: queues the assessment, then whoever holds the connection next
    /// writes every queued one in a single transaction (a savepoint each, so one
    /// failure affects only its own) and commits once. Durability is unchanged
    /// (synchronous=FULL); concurrent callers share one fsync.
    fn store_assessment(&self, mut job: PendingAssessment) -> Result<i64, CommandError> {
        let (reply, answer) = mpsc::channel();
        job.reply = Some(reply);
        self.assess_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(job);
        // Whoever holds the writer next takes every queued assessment (this one, or
        // others queued while it waited; then this one has already been answered and
        // there is nothing left to write).
        let queued = || {
            let batch =
                std::mem::take(&mut *self.assess_queue.lock().unwrap_or_else(|e| e.into_inner()));
            (!batch.is_empty()).then_some(batch)
        };
        if let Some((batch, written)) = self
            .writer
            .transact_gathered(queued, |tx, batch| write_assessments(tx, batch))
        {
            match written {
                Ok(results) => {
                    for (job, result) in batch.into_iter().zip(results) {
                        if let Some(reply) = job.reply {
                            let _ = reply.send(result);
                        }
                    }
                }
                // The transaction failed as a whole (a lock held past the busy
                // timeout, a full disk): nothing of it was kept.
                Err(e) => {
                    for job in batch {
                        if let Some(reply) = job.reply {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
            }
        }
        answer
            .recv()
            .unwrap_or_else(|_| Err(internal("the assessment writer stopped")))
    }

    /// Scores inputs without storing them, for what-if exploration. Not audited:
    /// nothing is kept, and one slider drag makes dozens of calls.
    pub fn what_if(&self, token: &str, inputs: &Measurements) -> Result<Prediction, CommandError> {
        self.session(token)?;
        inputs.validate()?;
        Ok(self.score(inputs)?.0)
    }

    pub fn recent(&self, token: &str, limit: u32) -> Result<Vec<AssessmentRecord>, CommandError> {
        self.session(token)?;
        check_limit(limit)?;
        assessments::recent(&self.read(), limit).map_err(internal)
    }

    pub fn cache_stats(&self, token: &str) -> Result<CacheStats, CommandError> {
        self.session(token)?;
        Ok(self.cache.stats())
    }
}

/// An assessment waiting for the group commit.
pub(super) struct PendingAssessment {
    inputs: Measurements,
    prediction: Prediction,
    patient_id: Option<i64>,
    actor: Session,
    started: Instant,
    reply: Option<mpsc::Sender<Result<i64, CommandError>>>,
}

fn write_one(tx: &Connection, job: &PendingAssessment) -> Result<(i64, Event), CommandError> {
    if let Some(pid) = job.patient_id {
        if patients::get(tx, pid).map_err(internal)?.is_none() {
            return Err(not_found_patient(pid));
        }
    }
    let id = assessments::insert(
        tx,
        &job.inputs,
        &job.prediction,
        job.patient_id,
        Some(job.actor.user_id),
    )
    .map_err(internal)?;
    let p = &job.prediction;
    let event = Event::new(Action::AssessmentCreated, Status::Ok, job.started)
        .by(job.actor.user_id, &job.actor.username)
        .about(format!("assessment:{id}"))
        .patient(job.patient_id)
        .detail(format!(
            "p={:.4} model={}{}",
            p.probability,
            p.model_version,
            job.patient_id
                .map(|p| format!(" patient:{p}"))
                .unwrap_or_default()
        ));
    Ok((id, event))
}

/// Writes a batch inside the writer's transaction, each in a savepoint of its own
/// when others share it (one failure affects only its own); each job's outcome, and
/// the events of those written.
#[allow(clippy::type_complexity)]
fn write_assessments(
    tx: &Connection,
    batch: &[PendingAssessment],
) -> Result<(Vec<Result<i64, CommandError>>, Vec<Event>), CommandError> {
    if let [job] = batch {
        // Alone: the transaction itself isolates it (a failure rolls it back).
        let (id, event) = write_one(tx, job)?;
        return Ok((vec![Ok(id)], vec![event]));
    }
    let mut results = Vec::with_capacity(batch.len());
    let mut events = Vec::with_capacity(batch.len());
    for job in batch {
        tx.execute_batch("SAVEPOINT assessment").map_err(internal)?;
        match write_one(tx, job) {
            Ok((id, event)) => {
                tx.execute_batch("RELEASE assessment").map_err(internal)?;
                results.push(Ok(id));
                events.push(event);
            }
            Err(e) => {
                tx.execute_batch("ROLLBACK TO assessment; RELEASE assessment")
                    .map_err(internal)?;
                results.push(Err(e));
            }
        }
    }
    Ok((results, events))
}

fn not_found_patient(id: i64) -> CommandError {
    CommandError::coded(ErrorCode::NoPatient, &[("id", &id.to_string())])
}

fn conflict_or_internal(e: rusqlite::Error, p: &PatientInput) -> CommandError {
    if unique_violation(&e) {
        CommandError::coded(
            ErrorCode::RecordNumberTaken,
            &[("record_number", p.record_number.trim())],
        )
    } else {
        internal(e)
    }
}
