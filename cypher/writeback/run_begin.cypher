// Purpose: create the :ModelRun node of a write-back (not current, status 'writing') or return the existing one.
// Params:
//   $runId        STRING   unique id of the training run
//   $model        STRING   model name, e.g. 'ease'
//   $params       STRING   hyper-parameters as a JSON object
//   $metrics      STRING   evaluation metrics as a JSON object
//   $dataset      STRING   dataset the model was trained on
//   $trainedAt    STRING   ISO-8601 time of training, or null for now
//   $gitSha       STRING   commit of the code that trained it, or null
//   $fingerprint  STRING   sha256 of the run's arrays (detects a different output under the same runId)
//   $k            INTEGER  recommendations per user in this run
//   $datasetBinding  STRING  JSON of the graph it was trained on (dataset, fingerprint, counts), or null
//   $dotScores    BOOLEAN  whether the scores are user . movie embedding dot products (readers may then extend the top-K)
// Example:
//   :param {runId: 'example-run', model: 'ease', dataset: 'ml-latest-small', trainedAt: null, gitSha: null, fingerprint: 'abc', k: 20, dotScores: false, datasetBinding: null}
//   :param params => '{"reg": 400.0}'
//   :param metrics => '{"ndcg@10": 0.3}'
MERGE (run:ModelRun {runId: $runId})
ON CREATE SET
  run.model = $model,
  run.params = $params,
  run.metrics = $metrics,
  run.dataset = $dataset,
  run.trainedAt = coalesce(datetime($trainedAt), datetime()),
  run.gitSha = $gitSha,
  run.fingerprint = $fingerprint,
  run.k = $k,
  run.dotScores = $dotScores,
  run.datasetBinding = $datasetBinding,
  run.current = false,
  run.status = 'writing',
  run.startedAt = datetime()
RETURN run.runId AS runId,
       run.status AS status,
       run.current AS current,
       run.fingerprint AS fingerprint,
       run.embeddingSlot AS embeddingSlot
