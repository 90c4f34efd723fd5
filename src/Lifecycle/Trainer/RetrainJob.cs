namespace AllReduceNet.Lifecycle.Trainer;

/// <summary>One retrain job as GET /jobs reports it. Written by the job's own task, read by requests: under a lock.</summary>
internal sealed class RetrainJob(string id, string reason, string? detail, string log)
{
    private readonly object _gate = new();
    private string _status = "running";
    private DateTimeOffset? _ended;
    private string? _version, _control, _error, _logTail, _step = "starting";
    private double? _accuracy;
    private int? _feedbackRows;
    private bool _experiment;

    public string Id { get; } = id;
    public string Reason { get; } = reason;
    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;
    /// <summary>Train.dll's output (stdout and stderr).</summary>
    public string Log { get; } = log;

    public bool IsRunning { get { lock (_gate) return _status == "running"; } }
    public string Status { get { lock (_gate) return _status; } }
    public string? Error { get { lock (_gate) return _error; } }
    public string? Version { get { lock (_gate) return _version; } }

    public void Step(string step) { lock (_gate) _step = step; }
    public void Control(string version) { lock (_gate) _control = version; }
    public void FeedbackRows(int rows) { lock (_gate) _feedbackRows = rows; }
    public void Produced(string version, double? accuracy) { lock (_gate) (_version, _accuracy) = (version, accuracy); }
    public void ExperimentStarted() { lock (_gate) _experiment = true; }

    public void Succeed()
    {
        lock (_gate) (_status, _ended, _step) = ("succeeded", DateTimeOffset.UtcNow, "done");
    }

    public void Fail(string error, string? logTail)
    {
        lock (_gate) (_status, _ended, _error, _logTail, _version) = ("failed", DateTimeOffset.UtcNow, error, logTail, null);
    }

    public Dictionary<string, object?> Describe()
    {
        lock (_gate)
            return new Dictionary<string, object?>
            {
                ["id"] = Id,
                ["reason"] = Reason,
                ["detail"] = detail,
                ["status"] = _status,
                ["step"] = _step,
                ["started"] = Started,
                ["ended"] = _ended,
                ["seconds"] = ((_ended ?? DateTimeOffset.UtcNow) - Started).TotalSeconds,
                ["control_version"] = _control,
                ["version"] = _version,
                ["accuracy"] = _accuracy,
                ["feedback_rows"] = _feedbackRows,
                ["experiment_started"] = _experiment,
                ["log"] = Log,
                ["error"] = _error,
                ["log_tail"] = _logTail,
            };
    }
}
