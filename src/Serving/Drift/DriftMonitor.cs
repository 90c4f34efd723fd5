using System.Diagnostics;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Reference;

namespace AllReduceNet.Serving.Drift;

/// <summary>
/// Watches one served model version. The request path only records (a lock, a list append, a dictionary insert):
/// the request's id, its rows and its predicted classes, kept for <see cref="DriftOptions.StoreRows"/> rows. Every
/// <see cref="DriftOptions.Step"/> rows a background task tests the latest <see cref="DriftOptions.Window"/> rows with
/// a <see cref="DriftDetector"/>; a window that comes due while one is being tested, or sooner than the pause the
/// previous test earned (<see cref="DriftOptions.MinIntervalMs"/>, <see cref="DriftOptions.CpuShare"/>), waits for the
/// next record after that.
/// Feedback (true labels by request id) feeds the accuracy over the latest labeled rows. Versions without reference
/// statistics (ONNX models, older checkpoints) still record and take feedback; their drift is reported unavailable.
/// </summary>
internal sealed partial class DriftMonitor
{
    /// <summary>Windows kept for GET /drift's history.</summary>
    public const int HistoryLength = 100;

    private readonly ServedModel _model;
    private readonly DriftOptions _options;
    private readonly DriftMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ReferenceStatistics? _reference;
    private readonly Checkpoint? _checkpoint;
    private readonly object _gate = new();
    private readonly LinkedList<RecordedRequest> _requests = new();
    private readonly Dictionary<string, RecordedRequest> _byId = new(StringComparer.Ordinal);
    private readonly Queue<bool> _labeled = new();
    private readonly LinkedList<DriftWindowSummary> _history = new();
    private long _storedRows, _rowsSeen, _rowsSinceWindow, _windows, _labeledCorrect, _feedbackRows;
    /// <summary>Stopwatch timestamp before which no window test starts (the CPU cap).</summary>
    private long _nextTestAllowed;
    private Task? _evaluation;
    private (DriftReport Report, long EndRow, DateTime At, int Labeled, int Correct)? _latest;
    private string? _error;

    public DriftMonitor(ServedModel model, DriftOptions options, DriftMetrics metrics, ILogger logger)
    {
        _model = model;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _reference = model.Reference;
        _checkpoint = (model as CheckpointModel)?.Checkpoint;
        Unavailable = _reference is null ? "the model version has no reference statistics (reference.json, written by Train.dll beside the checkpoint)"
            : _checkpoint is null ? "drift needs the model's penultimate activations, which only Train.dll checkpoints give (not ONNX models)"
            : null;
    }

    /// <summary>Why drift cannot be tested for this version, or null when it can.</summary>
    public string? Unavailable { get; }

    /// <summary>Records an answered request; starts a window's test in the background when one is due.</summary>
    public void Record(string id, string? protocolId, float[] input, int rows, long[] classes)
    {
        var request = new RecordedRequest(id, protocolId, input, rows, classes);
        lock (_gate)
        {
            _requests.AddLast(request);
            _byId[id] = request;
            if (protocolId is not null) _byId[protocolId] = request;
            _storedRows += rows;
            while (_storedRows - _requests.First!.Value.Rows >= _options.StoreRows)
            {
                var old = _requests.First.Value;
                _requests.RemoveFirst();
                _storedRows -= old.Rows;
                if (_byId.TryGetValue(old.Id, out var a) && a == old) _byId.Remove(old.Id);
                if (old.ProtocolId is not null && _byId.TryGetValue(old.ProtocolId, out var b) && b == old) _byId.Remove(old.ProtocolId);
            }
            _rowsSeen += rows;
            _rowsSinceWindow += rows;
            if (Unavailable is null && _rowsSinceWindow >= _options.Step && _storedRows >= _options.Window && _evaluation is not { IsCompleted: false }
                && Stopwatch.GetTimestamp() >= _nextTestAllowed)
            {
                _rowsSinceWindow = 0;
                var window = LatestRows();
                long endRow = _rowsSeen;
                _evaluation = Task.Run(() => Evaluate(window, endRow));
            }
        }
    }

    /// <summary>Stores true labels for a recorded request.</summary>
    /// <param name="id">The request's X-Request-Id or its Open Inference Protocol id.</param>
    /// <param name="labels">One label per row of the request.</param>
    /// <returns>The request's predicted classes, for the answer.</returns>
    /// <exception cref="ApiException">404: no recorded request has that id (never sent, or forgotten); 400: wrong number of labels or a label out of range; 409: labels were already given.</exception>
    public long[] Feedback(string id, int[] labels)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var request))
                throw ApiException.NotFound($"model '{_model.Name}' version {_model.Version} has no recorded request with id '{id}' " +
                    $"(the latest {_options.StoreRows} rows are kept, --drift-store-rows); send the X-Request-Id of an answered infer or /predict request, or its 'id'.");
            if (labels.Length != request.Rows)
                throw ApiException.BadRequest($"request '{id}' had {request.Rows} rows, but {labels.Length} labels were sent; send one label per row.");
            for (int i = 0; i < labels.Length; i++)
                if (labels[i] < 0 || labels[i] >= _model.Classes)
                    throw ApiException.BadRequest($"label {labels[i]}{(labels.Length > 1 ? $" (row {i})" : "")} is out of range: model '{_model.Name}' has classes 0 to {_model.Classes - 1}.");
            if (request.Labels is not null) throw new ApiException(StatusCodes.Status409Conflict, $"request '{id}' already has its labels; feedback is taken once per request.");
            request.Labels = labels;
            for (int i = 0; i < labels.Length; i++)
            {
                bool correct = request.Classes[i] == labels[i];
                _labeled.Enqueue(correct);
                if (correct) _labeledCorrect++;
                if (_labeled.Count > _options.Window && _labeled.Dequeue()) _labeledCorrect--;
            }
            _feedbackRows += labels.Length;
            _metrics.Feedback.WithLabels(_model.Name, _model.Version).Inc(labels.Length);
            _metrics.Accuracy.WithLabels(_model.Name, _model.Version).Set((double)_labeledCorrect / _labeled.Count);
            return request.Classes;
        }
    }

    /// <summary>Whether a request with this id is recorded here.</summary>
    public bool Knows(string id)
    {
        lock (_gate) return _byId.ContainsKey(id);
    }

    /// <summary>Completes when the window being tested, if any, is done (tests wait on it).</summary>
    public Task Idle
    {
        get { lock (_gate) return _evaluation ?? Task.CompletedTask; }
    }

    /// <summary>The JSON of GET /drift for this version.</summary>
    public object Describe()
    {
        lock (_gate)
        {
            int labeled = _labeled.Count;
            double? accuracy = labeled == 0 ? null : (double)_labeledCorrect / labeled;
            double? reference = _reference?.ValidationAccuracy;
            bool accuracyDrift = accuracy is not null && reference is not null && labeled >= _options.MinLabels && reference - accuracy > _options.AccuracyDrop;
            var latest = _latest;
            return new
            {
                name = _model.Name,
                version = _model.Version,
                available = Unavailable is null,
                reason = Unavailable,
                error = _error,
                window = new { size = _options.Window, step = _options.Step, rows_seen = _rowsSeen, rows_stored = _storedRows, windows_tested = _windows, last_window_end_row = latest?.EndRow, tested_at = latest?.At },
                drift = latest is { } l ? l.Report.Drift || accuracyDrift : accuracyDrift,
                features = latest is { } f ? new
                {
                    test = f.Report.FeatureTest.ToString().ToLowerInvariant(),
                    count = f.Report.Features,
                    drifted = f.Report.Drifted,
                    drifted_share = f.Report.DriftedShare,
                    dataset_drift = f.Report.DatasetDrift,
                    by_test = new { ks = f.Report.KsDrifted, wasserstein = f.Report.WassersteinDrifted, psi = f.Report.PsiDrifted },
                    top = f.Report.TopFeatures.Select(t => new { feature = t.Feature, score = t.Score }).ToArray(),
                } : null,
                multivariate = latest is { } m ? new { test = "mmd", mmd2 = m.Report.Mmd2, p_value = m.Report.MmdPValue, drift = m.Report.MultivariateDrift } : null,
                prediction = latest is { } p ? new
                {
                    test = "chi_square_classes+ks_confidence", p_value = p.Report.PredictionPValue, class_p_value = p.Report.ClassPValue,
                    confidence_p_value = p.Report.ConfidencePValue, confidence_psi = p.Report.ConfidencePsi, drift = p.Report.PredictionDrift,
                } : null,
                accuracy = new
                {
                    labeled, correct = _labeledCorrect, value = accuracy, reference, drop = accuracy is null || reference is null ? null : reference - accuracy,
                    drift = accuracyDrift, feedback_rows = _feedbackRows, window_labeled = latest?.Labeled, window_accuracy = latest is { Labeled: > 0 } w ? (double)w.Correct / w.Labeled : (double?)null,
                },
                thresholds = _options.Thresholds,
                history = _history.Select(w => new
                {
                    end_row = w.EndRow, at = w.At, features_drifted = w.FeaturesDrifted, drifted_share = w.DriftedShare, dataset_drift = w.DatasetDrift,
                    mmd_p_value = w.MmdPValue, prediction_p_value = w.PredictionPValue, drift = w.Drift, window_accuracy = w.WindowAccuracy,
                }).ToArray(),
            };
        }
    }

    /// <summary>The latest tested windows, oldest first (at most <see cref="HistoryLength"/>), for the status page.</summary>
    public DriftWindowSummary[] Windows()
    {
        lock (_gate) return _history.ToArray();
    }

    /// <summary>The feedback accuracy over the latest labeled rows (null before the first label), how many rows that
    /// is, and the validation accuracy of the reference (null without one).</summary>
    public (double? Accuracy, int Labeled, double? Reference) FeedbackAccuracy()
    {
        lock (_gate) return (_labeled.Count == 0 ? null : (double)_labeledCorrect / _labeled.Count, _labeled.Count, _reference?.ValidationAccuracy);
    }

    /// <summary>The latest Window rows: (request, first row used) from the newest request backwards.</summary>
    private List<(RecordedRequest Request, int FirstRow)> LatestRows()
    {
        var window = new List<(RecordedRequest, int)>();
        int needed = _options.Window;
        for (var node = _requests.Last; node is not null && needed > 0; node = node.Previous)
        {
            int take = Math.Min(needed, node.Value.Rows);
            window.Add((node.Value, node.Value.Rows - take));
            needed -= take;
        }
        window.Reverse();
        return window;
    }

    private void Evaluate(List<(RecordedRequest Request, int FirstRow)> window, long endRow)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            int features = _model.InputSize, rows = 0;
            var input = new float[(long)_options.Window * features];
            int labeled = 0, correct = 0;
            foreach (var (request, first) in window)
            {
                int take = request.Rows - first;
                request.Input.AsSpan(first * features, take * features).CopyTo(input.AsSpan(rows * features));
                // Labels are read without the lock: a reference assignment, seen whole or not at all.
                if (request.Labels is { } labels)
                    for (int r = first; r < request.Rows; r++) { labeled++; if (labels[r] == request.Classes[r]) correct++; }
                rows += take;
            }
            // A detector per window: its model copy is freed at once, so a version taken out of service leaves nothing behind.
            using var detector = new DriftDetector(_reference!, _checkpoint!, _model.Preprocess, _options);
            var report = detector.Evaluate(input, rows, seed: (int)(endRow % int.MaxValue));
            Publish(report, endRow, labeled, correct);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "drift test of model {Model} version {Version} failed", _model.Name, _model.Version);
            lock (_gate) _error = e.Message;
        }
        finally
        {
            // Wall time, not CPU time: on a busy machine the test's own waits count too, so the cap errs towards testing less.
            double pauseMs = Math.Max(_options.MinIntervalMs, Stopwatch.GetElapsedTime(started).TotalMilliseconds / _options.CpuShare);
            lock (_gate) _nextTestAllowed = started + (long)(pauseMs * Stopwatch.Frequency / 1000);
        }
    }

    private void Publish(DriftReport report, long endRow, int labeled, int correct)
    {
        bool wasDrifting;
        lock (_gate)
        {
            wasDrifting = _latest?.Report.Drift ?? false;
            _latest = (report, endRow, DateTime.UtcNow, labeled, correct);
            _windows++;
            _error = null;
            _history.AddLast(new DriftWindowSummary(endRow, DateTime.UtcNow, report.Drifted, report.DriftedShare, report.DatasetDrift,
                report.MmdPValue, report.PredictionPValue, report.Drift, labeled > 0 ? (double)correct / labeled : null));
            if (_history.Count > HistoryLength) _history.RemoveFirst();
        }
        string[] labels = [_model.Name, _model.Version];
        _metrics.FeaturesDrifted.WithLabels(labels).Set(report.Drifted);
        _metrics.FeaturesDriftedShare.WithLabels(labels).Set(report.DriftedShare);
        _metrics.DatasetDrift.WithLabels(labels).Set(report.DatasetDrift ? 1 : 0);
        _metrics.MmdPValue.WithLabels(labels).Set(report.MmdPValue);
        _metrics.PredictionPValue.WithLabels(labels).Set(report.PredictionPValue);
        _metrics.Detected.WithLabels(labels).Set(report.Drift ? 1 : 0);
        _metrics.Windows.WithLabels(labels).Inc();
        if (report.Drift && !wasDrifting)
            _logger.LogWarning("drift detected on model {Model} version {Version} at row {Row}: {Drifted} of {Features} features ({Test}), MMD p {MmdP:G3}, prediction p {PredictionP:G3}",
                _model.Name, _model.Version, endRow, report.Drifted, report.Features, report.FeatureTest, report.MmdPValue, report.PredictionPValue);
    }
}
