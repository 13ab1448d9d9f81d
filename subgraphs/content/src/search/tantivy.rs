//! The embedded engine: a tantivy index in `<data_dir>/search/content/v<N>`
//! (N the schema version, so a new version builds beside the old and the old
//! is removed). One writer per directory per process: a second `open` of the
//! same directory shares the engine. Writes are committed before `apply`
//! returns and the reader is reloaded, so what was applied is searchable.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use ::tantivy::aggregation::agg_req::Aggregations;
use ::tantivy::aggregation::agg_result::AggregationResults;
use ::tantivy::aggregation::{AggContextParams, AggregationCollector};
use ::tantivy::collector::{Count, TopDocs};
use ::tantivy::directory::error::LockError;
use ::tantivy::directory::MmapDirectory;
use ::tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use ::tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use ::tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use ::tantivy::{
    Index, IndexReader, IndexWriter, Order, ReloadPolicy, SegmentReader, TantivyDocument,
    TantivyError, Term,
};
use async_trait::async_trait;
use uuid::Uuid;

use super::{
    allowed_typos, day_number, Doc, Engine, EngineHit, EngineResults, SearchError, SearchRequest,
    BOOSTS, MIN_PREFIX, SCHEMA_VERSION,
};
use crate::filter::Filter;

/// Indexing memory per writer (tantivy's minimum is 15 MB per thread).
const WRITER_MEMORY: usize = 20_000_000;
/// The analyzer of the word fields: text arrives as [`super::words`] joined by spaces.
const WORDS: &str = "marquee_words";
/// Commit payload of a complete index; an index without it is rebuilt.
const BUILT: &str = "marquee-content-built";

struct Fields {
    id: Field,
    kind: Field,
    title: Field,
    words: Field,
    original_words: Field,
    title_key: Field,
    genres: Field,
    categories: Field,
    year: Field,
    release_day: Field,
    rating: Field,
    votes: Field,
    runtime: Field,
    language: Field,
    status: Field,
    popularity: Field,
    word_count: Field,
    stamp: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(WORDS)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        kind: b.add_text_field("kind", STRING),
        title: b.add_text_field("title", STORED),
        words: b.add_text_field("words", words.clone()),
        original_words: b.add_text_field("original_words", words),
        title_key: b.add_text_field("title_key", STRING),
        genres: b.add_text_field("genres", STRING | FAST),
        categories: b.add_text_field("categories", STRING),
        year: b.add_i64_field("year", INDEXED | FAST),
        release_day: b.add_i64_field("release_day", INDEXED | FAST),
        rating: b.add_f64_field("rating", INDEXED | FAST),
        votes: b.add_i64_field("votes", INDEXED | FAST),
        runtime: b.add_i64_field("runtime", INDEXED | FAST),
        language: b.add_text_field("language", STRING),
        status: b.add_text_field("status", STRING),
        popularity: b.add_f64_field("popularity", FAST),
        word_count: b.add_u64_field("word_count", FAST),
        stamp: b.add_u64_field("stamp", FAST),
    };
    (b.build(), fields)
}

pub struct TantivyEngine {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    /// Held by a rebuild from its first delete to its commit, and by each
    /// `apply`, so no commit in between publishes a half-built index.
    gate: tokio::sync::Mutex<()>,
    fields: Fields,
}

/// Engines open in this process, by directory.
static OPEN: Mutex<Vec<(PathBuf, Weak<TantivyEngine>)>> = Mutex::new(Vec::new());

impl TantivyEngine {
    /// The index under `root` (`root/v<SCHEMA_VERSION>`), created empty when
    /// missing; indexes of other versions under `root` are removed.
    pub fn open(root: &Path) -> Result<Arc<Self>, SearchError> {
        let dir = root.join(format!("v{SCHEMA_VERSION}"));
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|(_, w)| w.strong_count() > 0);
        if let Some(engine) = open
            .iter()
            .find(|(d, _)| *d == dir)
            .and_then(|(_, w)| w.upgrade())
        {
            return Ok(engine);
        }
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(root)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('v') && entry.path() != dir && entry.file_type()?.is_dir() {
                tracing::info!(path = %entry.path().display(), "removing a search index of another schema version");
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        let (schema, fields) = schema();
        let index = match Self::open_index(&dir, schema.clone()) {
            Err(TantivyError::SchemaError(_)) => {
                // Same version, other fields (a development build): start over.
                std::fs::remove_dir_all(&dir)?;
                std::fs::create_dir_all(&dir)?;
                Self::open_index(&dir, schema)?
            }
            other => other?,
        };
        let writer = index
            .writer_with_num_threads(1, WRITER_MEMORY)
            .map_err(|e| match e {
                TantivyError::LockFailure(LockError::LockBusy, _) => {
                    SearchError::Locked(dir.display().to_string())
                }
                e => e.into(),
            })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let engine = Arc::new(Self {
            dir: dir.clone(),
            index,
            reader,
            writer: Mutex::new(writer),
            gate: tokio::sync::Mutex::new(()),
            fields,
        });
        open.push((dir, Arc::downgrade(&engine)));
        Ok(engine)
    }

    fn open_index(dir: &Path, schema: Schema) -> Result<Index, TantivyError> {
        let directory = MmapDirectory::open(dir)?;
        let index = Index::builder().schema(schema).open_or_create(directory)?;
        index
            .tokenizers()
            .register(WORDS, TextAnalyzer::from(WhitespaceTokenizer::default()));
        Ok(index)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn document(&self, d: &Doc) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, d.id.to_string());
        doc.add_text(f.kind, &d.kind);
        doc.add_text(f.title, &d.title);
        let words = d.words();
        doc.add_u64(f.word_count, words.len() as u64);
        doc.add_text(f.words, words.join(" "));
        doc.add_text(f.original_words, d.original_words().join(" "));
        doc.add_text(f.title_key, d.title_key());
        for g in &d.genres {
            doc.add_text(f.genres, g);
        }
        for c in &d.categories {
            doc.add_text(f.categories, c);
        }
        if let Some(y) = d.year {
            doc.add_i64(f.year, y.into());
        }
        if let Some(r) = d.release_date {
            doc.add_i64(f.release_day, day_number(r));
        }
        doc.add_f64(f.rating, d.rating);
        doc.add_i64(f.votes, d.votes);
        if let Some(r) = d.runtime {
            doc.add_i64(f.runtime, r.into());
        }
        doc.add_text(f.language, &d.language);
        doc.add_text(f.status, &d.status);
        doc.add_f64(f.popularity, d.popularity);
        doc.add_u64(f.stamp, d.stamp());
        doc
    }

    fn commit(&self, writer: &mut IndexWriter) -> Result<(), SearchError> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(BUILT);
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic mid-write leaves uncommitted changes only; the next commit or
        // rollback settles them, so a poisoned lock is still usable.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn filter_clauses(&self, filter: &Filter) -> Vec<Box<dyn Query>> {
        let f = &self.fields;
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        let terms = |field: Field, values: &[String]| -> Vec<Term> {
            values
                .iter()
                .map(|v| Term::from_field_text(field, v))
                .collect()
        };
        if let Some(kind) = filter.kind {
            out.push(Box::new(TermSetQuery::new(terms(
                f.kind,
                &[kind.to_string()],
            ))));
        }
        for (field, values) in [
            (f.genres, &filter.genres),
            (f.categories, &filter.categories),
        ] {
            if values.is_empty() {
                continue;
            }
            if filter.all_genres {
                for t in terms(field, values) {
                    out.push(Box::new(TermQuery::new(t, IndexRecordOption::Basic)));
                }
            } else {
                out.push(Box::new(TermSetQuery::new(terms(field, values))));
            }
        }
        let i64_range =
            |field: Field, lo: Option<i64>, hi: Option<i64>| -> Option<Box<dyn Query>> {
                if lo.is_none() && hi.is_none() {
                    return None;
                }
                let bound = |v: Option<i64>| match v {
                    Some(v) => Bound::Included(Term::from_field_i64(field, v)),
                    None => Bound::Unbounded,
                };
                Some(Box::new(RangeQuery::new(bound(lo), bound(hi))))
            };
        let year = filter.year.map(i64::from);
        out.extend(i64_range(f.year, year, year));
        out.extend(i64_range(
            f.release_day,
            filter.released_from.map(day_number),
            filter.released_to.map(day_number),
        ));
        out.extend(i64_range(f.votes, filter.min_votes, None));
        out.extend(i64_range(
            f.runtime,
            filter.runtime_min.map(i64::from),
            filter.runtime_max.map(i64::from),
        ));
        if filter.rating_min.is_some() || filter.rating_max.is_some() {
            let bound = |v: Option<f64>| match v {
                Some(v) => Bound::Included(Term::from_field_f64(f.rating, v)),
                None => Bound::Unbounded,
            };
            out.push(Box::new(RangeQuery::new(
                bound(filter.rating_min),
                bound(filter.rating_max),
            )));
        }
        for (field, value) in [(f.language, &filter.language), (f.status, &filter.status)] {
            if let Some(v) = value {
                out.push(Box::new(TermQuery::new(
                    Term::from_field_text(field, v),
                    IndexRecordOption::Basic,
                )));
            }
        }
        out
    }

    /// Each term must match the title or the original title: exactly (scored
    /// by BM25, so short titles rank first), within its typo budget, or as a
    /// prefix for the last term.
    fn text_query(&self, terms: &[String]) -> BooleanQuery {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            let last = i + 1 == terms.len();
            let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, [exact, fuzzy, prefix]) in
                [(f.words, BOOSTS[0].1), (f.original_words, BOOSTS[1].1)]
            {
                let term = Term::from_field_text(field, t);
                should.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                        exact as f32,
                    )),
                ));
                let typos = allowed_typos(t);
                if typos > 0 {
                    should.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(FuzzyTermQuery::new(term.clone(), typos, true)),
                            fuzzy as f32,
                        )),
                    ));
                }
                if last && t.chars().count() >= MIN_PREFIX {
                    should.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(FuzzyTermQuery::new_prefix(term, 0, true)),
                            prefix as f32,
                        )),
                    ));
                }
            }
            must.push((Occur::Must, Box::new(BooleanQuery::new(should))));
        }
        BooleanQuery::new(must)
    }

    fn run_search(&self, r: &SearchRequest) -> Result<EngineResults, SearchError> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(self.text_query(&r.terms)))];
        for q in self.filter_clauses(&r.filter) {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0))));
        }
        let query = BooleanQuery::new(clauses);
        let n_terms = r.terms.len() as f64;
        let top = TopDocs::with_limit(r.limit)
            .and_offset(r.offset)
            .tweak_score(move |segment: &SegmentReader| {
                let fast = segment.fast_fields();
                let popularity = fast.f64("popularity").ok();
                let word_count = fast.u64("word_count").ok();
                move |doc, score| {
                    let pop = popularity
                        .as_ref()
                        .and_then(|c| c.first(doc))
                        .unwrap_or(0.0);
                    let n = word_count
                        .as_ref()
                        .and_then(|c| c.first(doc))
                        .unwrap_or(1)
                        .max(1);
                    // Shorter titles that match fully rank above long ones;
                    // popularity breaks near-ties.
                    f64::from(score) + n_terms / n as f64 + (1.0 + pop.max(0.0)).ln() / 100.0
                }
            });
        let aggs: Aggregations = serde_json::from_value(serde_json::json!({
            "genres": { "terms": { "field": "genres", "size": super::MAX_FACET_VALUES } },
            "decades": { "histogram": { "field": "year", "interval": 10 } }
        }))
        .map_err(|e| SearchError::Task(format!("facet request: {e}")))?;
        let facets = AggregationCollector::from_aggs(aggs, AggContextParams::default());
        let searcher = self.reader.searcher();
        let (total, top, facets) = searcher.search(&query, &(Count, top, facets))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let Ok(id) = Uuid::parse_str(&text(self.fields.id)) else {
                continue;
            };
            hits.push(EngineHit {
                id,
                score,
                title: text(self.fields.title),
            });
        }
        let (genres, decades) = facet_buckets(&facets)?;
        Ok(EngineResults {
            hits,
            total,
            genres,
            decades,
        })
    }

    fn run_suggest(&self, prefix: &str, n: usize) -> Result<Vec<Uuid>, SearchError> {
        let f = &self.fields;
        let mut should: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Should,
            Box::new(FuzzyTermQuery::new_prefix(
                Term::from_field_text(f.title_key, prefix),
                0,
                true,
            )),
        )];
        if !prefix.contains(' ') {
            should.push((
                Occur::Should,
                Box::new(FuzzyTermQuery::new_prefix(
                    Term::from_field_text(f.words, prefix),
                    0,
                    true,
                )),
            ));
        }
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &BooleanQuery::new(should),
            &TopDocs::with_limit(n).order_by_fast_field::<f64>("popularity", Order::Desc),
        )?;
        let mut out = Vec::with_capacity(top.len());
        for (_, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = doc
                .get_first(f.id)
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok())
            {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn run_stamps(&self) -> Result<HashMap<Uuid, u64>, SearchError> {
        let searcher = self.reader.searcher();
        let mut out = HashMap::new();
        for segment in searcher.segment_readers() {
            let stamps = segment.fast_fields().u64("stamp")?;
            let store = segment.get_store_reader(1)?;
            for doc in segment.doc_ids_alive() {
                let stored: TantivyDocument = store.get(doc)?;
                if let Some(id) = stored
                    .get_first(self.fields.id)
                    .and_then(|v| v.as_str())
                    .and_then(|s| Uuid::parse_str(s).ok())
                {
                    out.insert(id, stamps.first(doc).unwrap_or(0));
                }
            }
        }
        Ok(out)
    }
}

/// Genre and decade buckets out of tantivy's aggregation result (the same
/// shape as Elasticsearch's).
fn facet_buckets(r: &AggregationResults) -> Result<super::Facets, SearchError> {
    let v = serde_json::to_value(r).map_err(|e| SearchError::Task(format!("facets: {e}")))?;
    Ok(super::elastic::buckets_of(&v))
}

/// Runs blocking index work off the async threads.
async fn blocking<T: Send + 'static>(
    engine: &Arc<TantivyEngine>,
    work: impl FnOnce(&TantivyEngine) -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || work(&engine))
        .await
        .map_err(|e| SearchError::Task(e.to_string()))?
}

#[async_trait]
impl Engine for Arc<TantivyEngine> {
    fn kind(&self) -> &'static str {
        "tantivy"
    }

    async fn ping(&self) -> Result<(), SearchError> {
        // The index lives in this process: it answers when its files do.
        self.index.load_metas()?;
        Ok(())
    }

    async fn is_built(&self) -> Result<bool, SearchError> {
        let metas = self.index.load_metas()?;
        Ok(metas.payload.as_deref() == Some(BUILT))
    }

    async fn rebuild(
        &self,
        docs: Vec<Doc>,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<(), SearchError> {
        // Nothing is visible until the final commit: searches keep the old
        // index meanwhile, and a crash before it leaves the old index behind.
        let _gate = self.gate.lock().await;
        self.writer().delete_all_documents()?;
        let total = docs.len();
        let mut done = 0;
        let mut rest = docs;
        while !rest.is_empty() {
            let chunk: Vec<Doc> = rest.drain(..rest.len().min(500)).collect();
            done += chunk.len();
            blocking(self, move |e| {
                let writer = e.writer();
                for d in &chunk {
                    writer.add_document(e.document(d))?;
                }
                Ok(())
            })
            .await?;
            progress(done);
        }
        blocking(self, |e| e.commit(&mut e.writer())).await?;
        progress(total);
        Ok(())
    }

    async fn apply(&self, docs: Vec<Doc>, deleted: Vec<Uuid>) -> Result<(), SearchError> {
        let _gate = self.gate.lock().await;
        blocking(self, move |e| {
            let mut writer = e.writer();
            for id in deleted.iter().chain(docs.iter().map(|d| &d.id)) {
                writer.delete_term(Term::from_field_text(e.fields.id, &id.to_string()));
            }
            for d in &docs {
                writer.add_document(e.document(d))?;
            }
            e.commit(&mut writer)
        })
        .await
    }

    async fn stamps(&self) -> Result<HashMap<Uuid, u64>, SearchError> {
        blocking(self, |e| e.run_stamps()).await
    }

    async fn search(&self, request: &SearchRequest) -> Result<EngineResults, SearchError> {
        let request = request.clone();
        blocking(self, move |e| e.run_search(&request)).await
    }

    async fn suggest(&self, prefix: &str, n: usize) -> Result<Vec<Uuid>, SearchError> {
        let prefix = prefix.to_string();
        blocking(self, move |e| e.run_suggest(&prefix, n)).await
    }
}
