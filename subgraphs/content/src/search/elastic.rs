//! The Elasticsearch engine (`search.elasticsearch_url`): the same documents,
//! query and ranking as the tantivy engine, translated to ES's query DSL.
//! Searches go to the alias `<index>-v<N>`; a rebuild fills a new concrete
//! index `<index>-v<N>-<millis>` and swaps the alias in one `_aliases` call,
//! so searches never see a half-built index. Writes use `_bulk` with
//! `refresh=wait_for`, so what `apply` wrote is searchable when it returns.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use url::Url;
use uuid::Uuid;

use super::{
    allowed_typos, day_number, top_buckets, Doc, Engine, EngineHit, EngineResults, Facets,
    SearchError, SearchRequest, BOOSTS, MAX_FACET_VALUES, MIN_PREFIX, SCHEMA_VERSION,
};
use crate::filter::Filter;

/// Documents per `_bulk` request.
const BULK: usize = 500;
/// Page size when listing every document's stamp.
const SCAN: usize = 1000;

pub struct ElasticEngine {
    base: Url,
    alias: String,
    http: reqwest::Client,
}

impl ElasticEngine {
    /// An engine over the cluster at `base`, its index named after `index`.
    pub fn new(mut base: Url, index: &str) -> Result<Self, SearchError> {
        // `join` replaces the last path segment unless the base ends in `/`
        // (a cluster behind a path prefix, e.g. `https://host/es`).
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SearchError::Elastic(format!("http client: {e}")))?;
        Ok(Self {
            base,
            alias: format!("{index}-v{SCHEMA_VERSION}"),
            http,
        })
    }

    /// The alias searches and writes go through.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    fn url(&self, path: &str) -> Result<Url, SearchError> {
        self.base
            .join(path)
            .map_err(|e| SearchError::Elastic(format!("bad URL {path}: {e}")))
    }

    /// Sends a request; `Ok(None)` for a 404, the JSON body for a success.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Body>,
    ) -> Result<Option<Value>, SearchError> {
        let mut req = self.http.request(method.clone(), self.url(path)?);
        match body {
            Some(Body::Json(v)) => req = req.json(&v),
            Some(Body::NdJson(s)) => {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
                    .body(s)
            }
            None => {}
        }
        let resp = req
            .send()
            .await
            .map_err(|e| SearchError::Elastic(format!("{method} {path}: {e}")))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let text = resp
            .text()
            .await
            .map_err(|e| SearchError::Elastic(format!("{method} {path}: {e}")))?;
        if !status.is_success() {
            // ES error bodies name the cause (a mapping conflict, a bad query).
            let reason = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["reason"].as_str().map(str::to_string))
                .unwrap_or_else(|| text.chars().take(300).collect());
            return Err(SearchError::Elastic(format!(
                "{method} {path}: {status}: {reason}"
            )));
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| SearchError::Elastic(format!("{method} {path}: not JSON: {e}")))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, SearchError> {
        self.send(reqwest::Method::POST, path, Some(Body::Json(body)))
            .await?
            .ok_or_else(|| SearchError::Elastic(format!("POST {path}: 404 (no index yet?)")))
    }

    /// Concrete indexes behind the alias.
    async fn aliased(&self) -> Result<Vec<String>, SearchError> {
        let path = format!("_alias/{}", self.alias);
        let mut names: Vec<String> = match self.send(reqwest::Method::GET, &path, None).await? {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        names.sort();
        Ok(names)
    }

    async fn bulk(&self, lines: String, refresh: bool) -> Result<(), SearchError> {
        let path = if refresh {
            "_bulk?refresh=wait_for"
        } else {
            "_bulk"
        };
        let r = self
            .send(reqwest::Method::POST, path, Some(Body::NdJson(lines)))
            .await?
            .ok_or_else(|| SearchError::Elastic("POST _bulk: 404".into()))?;
        if r["errors"].as_bool() == Some(true) {
            let first = r["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i.as_object().and_then(|o| o.values().next()))
                .find_map(|i| i.get("error"))
                .map(|e| e["reason"].as_str().unwrap_or("unknown").to_string())
                .unwrap_or_default();
            return Err(SearchError::Elastic(format!(
                "bulk indexing failed: {first}"
            )));
        }
        Ok(())
    }
}

enum Body {
    Json(Value),
    NdJson(String),
}

/// Settings and mappings of an index (`dynamic: strict`: a field the code
/// does not map is an error, not a guess).
pub fn index_definition() -> Value {
    let words = json!({ "type": "text", "analyzer": "marquee_words", "norms": true });
    json!({
        "settings": {
            "number_of_shards": 1,
            "analysis": { "analyzer": { "marquee_words": { "type": "custom", "tokenizer": "whitespace" } } }
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": { "schema_version": SCHEMA_VERSION },
            "properties": {
                "id": { "type": "keyword" },
                "kind": { "type": "keyword" },
                "title": { "type": "text", "index": false },
                "words": words,
                "original_words": words,
                "title_key": { "type": "keyword" },
                "genres": { "type": "keyword" },
                "categories": { "type": "keyword" },
                "year": { "type": "integer" },
                "release_day": { "type": "integer" },
                "rating": { "type": "double" },
                "votes": { "type": "long" },
                "runtime": { "type": "integer" },
                "language": { "type": "keyword" },
                "status": { "type": "keyword" },
                "popularity": { "type": "double" },
                "word_count": { "type": "integer" },
                "stamp": { "type": "long" }
            }
        }
    })
}

/// A document as ES stores it.
pub fn source(d: &Doc) -> Value {
    let words = d.words();
    json!({
        "id": d.id,
        "kind": d.kind,
        "title": d.title,
        "words": words.join(" "),
        "original_words": d.original_words().join(" "),
        "title_key": d.title_key(),
        "genres": d.genres,
        "categories": d.categories,
        "year": d.year,
        "release_day": d.release_date.map(day_number),
        "rating": d.rating,
        "votes": d.votes,
        "runtime": d.runtime,
        "language": d.language,
        "status": d.status,
        "popularity": d.popularity,
        "word_count": words.len(),
        "stamp": d.stamp(),
    })
}

fn index_lines(index: &str, docs: &[Doc], out: &mut String) {
    for d in docs {
        out.push_str(&json!({ "index": { "_index": index, "_id": d.id } }).to_string());
        out.push('\n');
        out.push_str(&source(d).to_string());
        out.push('\n');
    }
}

/// The `movies` filter in ES's query DSL (non-scoring `filter` clauses).
pub fn filter_clauses(f: &Filter) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(kind) = f.kind {
        out.push(json!({ "terms": { "kind": [kind] } }));
    }
    for (field, values) in [("genres", &f.genres), ("categories", &f.categories)] {
        if values.is_empty() {
            continue;
        }
        if f.all_genres {
            out.extend(values.iter().map(|v| json!({ "term": { field: v } })));
        } else {
            out.push(json!({ "terms": { field: values } }));
        }
    }
    let mut range = |field: &str, lo: Option<Value>, hi: Option<Value>| {
        if lo.is_none() && hi.is_none() {
            return;
        }
        let mut r = serde_json::Map::new();
        if let Some(lo) = lo {
            r.insert("gte".into(), lo);
        }
        if let Some(hi) = hi {
            r.insert("lte".into(), hi);
        }
        out.push(json!({ "range": { field: r } }));
    };
    range("year", f.year.map(Value::from), f.year.map(Value::from));
    range(
        "release_day",
        f.released_from.map(day_number).map(Value::from),
        f.released_to.map(day_number).map(Value::from),
    );
    range(
        "rating",
        f.rating_min.map(Value::from),
        f.rating_max.map(Value::from),
    );
    range("votes", f.min_votes.map(Value::from), None);
    range(
        "runtime",
        f.runtime_min.map(Value::from),
        f.runtime_max.map(Value::from),
    );
    if let Some(l) = &f.language {
        out.push(json!({ "term": { "language": l } }));
    }
    if let Some(s) = &f.status {
        out.push(json!({ "term": { "status": s } }));
    }
    out
}

/// The search request body: every term must match a title word exactly
/// (BM25), within its typo budget, or as a prefix (last term); the script
/// adds the same coverage and popularity terms as the tantivy engine.
pub fn search_body(r: &SearchRequest) -> Value {
    let must: Vec<Value> = r
        .terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let last = i + 1 == r.terms.len();
            let mut should = Vec::new();
            for (field, [exact, fuzzy, prefix]) in BOOSTS {
                should.push(json!({ "term": { field: { "value": t, "boost": exact } } }));
                let typos = allowed_typos(t);
                if typos > 0 {
                    should.push(json!({ "fuzzy": { field: {
                        "value": t, "fuzziness": typos, "transpositions": true, "boost": fuzzy
                    } } }));
                }
                if last && t.chars().count() >= MIN_PREFIX {
                    should.push(json!({ "prefix": { field: { "value": t, "boost": prefix } } }));
                }
            }
            json!({ "bool": { "should": should, "minimum_should_match": 1 } })
        })
        .collect();
    json!({
        "from": r.offset,
        "size": r.limit,
        "track_total_hits": true,
        "_source": ["title"],
        "query": { "function_score": {
            "query": { "bool": { "must": must, "filter": filter_clauses(&r.filter) } },
            "script_score": { "script": {
                "source": "_score + params.terms / Math.max(1, doc['word_count'].value) + Math.log(1 + Math.max(0, doc['popularity'].value)) / 100",
                "params": { "terms": r.terms.len() }
            } },
            "boost_mode": "replace"
        } },
        "sort": [ { "_score": "desc" }, { "id": "asc" } ],
        "aggs": {
            "genres": { "terms": { "field": "genres", "size": MAX_FACET_VALUES } },
            "decades": { "histogram": { "field": "year", "interval": 10, "min_doc_count": 1 } }
        }
    })
}

/// The suggest request body: whole-title prefix, or a word prefix for one word.
pub fn suggest_body(prefix: &str, n: usize) -> Value {
    let mut should = vec![json!({ "prefix": { "title_key": prefix } })];
    if !prefix.contains(' ') {
        should.push(json!({ "prefix": { "words": prefix } }));
    }
    json!({
        "size": n,
        "_source": false,
        "query": { "bool": { "should": should, "minimum_should_match": 1 } },
        "sort": [ { "popularity": "desc" }, { "id": "asc" } ]
    })
}

/// Genre and decade buckets of an aggregation result, ES-shaped (tantivy's
/// aggregations answer in the same shape).
pub fn buckets_of(aggs: &Value) -> Facets {
    let buckets = |name: &str| {
        aggs[name]["buckets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let genres = buckets("genres")
        .iter()
        .filter_map(|b| Some((b["key"].as_str()?.to_string(), b["doc_count"].as_u64()?)))
        .collect();
    let decades = buckets("decades")
        .iter()
        .filter_map(|b| Some((b["key"].as_f64()? as i32, b["doc_count"].as_u64()?)))
        .collect();
    (top_buckets(genres), top_buckets(decades))
}

fn hit_id(h: &Value) -> Option<Uuid> {
    h["_id"].as_str().and_then(|s| Uuid::parse_str(s).ok())
}

#[async_trait]
impl Engine for ElasticEngine {
    fn kind(&self) -> &'static str {
        "elasticsearch"
    }

    async fn ping(&self) -> Result<(), SearchError> {
        if self.aliased().await?.is_empty() {
            return Err(SearchError::Elastic(format!(
                "no index behind {}",
                self.alias
            )));
        }
        Ok(())
    }

    async fn is_built(&self) -> Result<bool, SearchError> {
        Ok(!self.aliased().await?.is_empty())
    }

    async fn rebuild(
        &self,
        docs: Vec<Doc>,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<(), SearchError> {
        let millis = chrono::Utc::now().timestamp_millis();
        let index = format!("{}-{millis}", self.alias);
        self.send(
            reqwest::Method::PUT,
            &index,
            Some(Body::Json(index_definition())),
        )
        .await?
        .ok_or_else(|| SearchError::Elastic(format!("PUT {index}: 404")))?;
        let mut done = 0;
        for chunk in docs.chunks(BULK) {
            let mut lines = String::new();
            index_lines(&index, chunk, &mut lines);
            self.bulk(lines, false).await?;
            done += chunk.len();
            progress(done);
        }
        self.post(&format!("{index}/_refresh"), json!({})).await?;
        let old = self.aliased().await?;
        let mut actions = vec![json!({ "add": { "index": index, "alias": self.alias } })];
        actions.extend(
            old.iter()
                .filter(|o| **o != index)
                .map(|o| json!({ "remove_index": { "index": o } })),
        );
        self.post("_aliases", json!({ "actions": actions })).await?;
        // Two rebuilds at once (replicas starting on an empty cluster) can
        // both add their index: the newest stays behind the alias.
        let behind = self.aliased().await?;
        if behind.len() > 1 {
            let keep = behind
                .iter()
                .chain(std::iter::once(&index))
                .max_by_key(|name| name.rsplit('-').next().and_then(|m| m.parse::<i64>().ok()))
                .cloned()
                .unwrap_or(index);
            let actions: Vec<Value> = behind
                .iter()
                .filter(|o| **o != keep)
                .map(|o| json!({ "remove_index": { "index": o } }))
                .collect();
            self.post("_aliases", json!({ "actions": actions })).await?;
        }
        progress(docs.len());
        Ok(())
    }

    async fn apply(&self, docs: Vec<Doc>, deleted: Vec<Uuid>) -> Result<(), SearchError> {
        if docs.is_empty() && deleted.is_empty() {
            return Ok(());
        }
        let mut lines = String::new();
        for id in &deleted {
            lines.push_str(&json!({ "delete": { "_index": self.alias, "_id": id } }).to_string());
            lines.push('\n');
        }
        index_lines(&self.alias, &docs, &mut lines);
        // A delete of a document that is not there answers `not_found`
        // without an `error`: deleting twice is fine.
        self.bulk(lines, true).await
    }

    async fn stamps(&self) -> Result<HashMap<Uuid, u64>, SearchError> {
        let mut out = HashMap::new();
        let mut after: Option<Value> = None;
        loop {
            let mut body = json!({
                "size": SCAN,
                "_source": ["stamp"],
                "sort": [ { "id": "asc" } ],
            });
            if let Some(a) = &after {
                body["search_after"] = a.clone();
            }
            let r = self.post(&format!("{}/_search", self.alias), body).await?;
            let hits = r["hits"]["hits"].as_array().cloned().unwrap_or_default();
            for h in &hits {
                if let Some(id) = hit_id(h) {
                    out.insert(id, h["_source"]["stamp"].as_u64().unwrap_or(0));
                }
            }
            if hits.len() < SCAN {
                return Ok(out);
            }
            after = hits.last().map(|h| h["sort"].clone());
        }
    }

    async fn search(&self, request: &SearchRequest) -> Result<EngineResults, SearchError> {
        let r = self
            .post(&format!("{}/_search", self.alias), search_body(request))
            .await?;
        let hits = r["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| {
                Some(EngineHit {
                    id: hit_id(h)?,
                    score: h["_score"].as_f64().unwrap_or(0.0),
                    title: h["_source"]["title"].as_str()?.to_string(),
                })
            })
            .collect();
        let (genres, decades) = buckets_of(&r["aggregations"]);
        Ok(EngineResults {
            hits,
            total: r["hits"]["total"]["value"].as_u64().unwrap_or(0) as usize,
            genres,
            decades,
        })
    }

    async fn suggest(&self, prefix: &str, n: usize) -> Result<Vec<Uuid>, SearchError> {
        let r = self
            .post(&format!("{}/_search", self.alias), suggest_body(prefix, n))
            .await?;
        Ok(r["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(hit_id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_behind_a_path_prefix_keeps_it() {
        for base in ["http://es.local:9200/es", "http://es.local:9200/es/"] {
            let e = ElasticEngine::new(base.parse().unwrap(), "marquee-content").unwrap();
            assert_eq!(
                e.url("_bulk").unwrap().as_str(),
                "http://es.local:9200/es/_bulk"
            );
            assert_eq!(e.alias(), "marquee-content-v1");
        }
    }
}
