// Purpose: restart an interrupted (never switched) write-back of a run under new output: new metadata, status 'writing'.
// Params:
//   $runId        STRING   the run to reset
//   $model        STRING   model name
//   $params       STRING   hyper-parameters as a JSON object
//   $metrics      STRING   evaluation metrics as a JSON object
//   $dataset      STRING   dataset name
//   $trainedAt    STRING   ISO-8601 time of training, or null for now
//   $gitSha       STRING   commit, or null
//   $fingerprint  STRING   sha256 of the run's arrays
//   $k            INTEGER  recommendations per user
//   $datasetBinding  STRING  JSON of the graph it was trained on (dataset, fingerprint, counts), or null
//   $dotScores    BOOLEAN  whether the scores are embedding dot products
// Example:
//   :param {runId: 'example-run', model: 'ease', dataset: 'ml-latest-small', trainedAt: null, gitSha: null, fingerprint: 'def', k: 20, dotScores: false, datasetBinding: null}
//   :param params => '{"reg": 400.0}'
//   :param metrics => '{"ndcg@10": 0.3}'
MATCH (run:ModelRun {runId: $runId})
WHERE run.status <> 'complete'
SET run.model = $model,
    run.params = $params,
    run.metrics = $metrics,
    run.dataset = $dataset,
    run.trainedAt = coalesce(datetime($trainedAt), datetime()),
    run.gitSha = $gitSha,
    run.fingerprint = $fingerprint,
    run.k = $k,
    run.dotScores = $dotScores,
    run.datasetBinding = $datasetBinding,
    run.status = 'writing',
    run.current = false
RETURN run.runId AS runId
