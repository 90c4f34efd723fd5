namespace AllReduceNet.Serving;

/// <summary>The two arms of an experiment.</summary>
internal enum Variant { Control, Candidate }

/// <summary>
/// One A/B test of a model: the control and candidate versions, what each has done, and the decision. Accuracy is
/// compared by the mSPRT (<see cref="MsprtTest"/>) after every label; its always-valid p-value is the running minimum
/// from the moment both variants have <see cref="ExperimentSettings.MinSamples"/> labels, and when it reaches alpha the
/// candidate is promoted if it is the better one, rolled back if it is the worse. The guardrails
/// (<see cref="GuardrailLimits"/>) are checked as requests are answered and roll back on an error-rate or p99 regression.
/// Once decided, the experiment takes no more data. Thread-safe.
/// </summary>
internal sealed class Experiment
{
    /// <summary>The guardrails are checked every this many answers (each check sorts the latency windows).</summary>
    public const int GuardrailPeriod = 16;

    private readonly object _lock = new();
    private readonly Action<Experiment, ExperimentDecision>? _decided;
    /// <summary>Answers each variant needs before its p99 is judged: with fewer, the nearest-rank p99 is one or two
    /// outliers (on a shared machine, another process's pause), and the guardrail rolled back equal models.</summary>
    public const int P99MinAnswers = 1000;

    /// <summary>Consecutive guardrail checks that must see the p99 regression: a sustained one, not a burst.</summary>
    public const int P99ConsecutiveBreaches = 3;

    private double _pValue = 1, _likelihoodRatio = 1;
    private long _answers;
    private int _p99Breaches;

    /// <summary>Starts an experiment; <paramref name="decided"/> is called once, when it ends.</summary>
    public Experiment(string model, ExperimentSettings settings, Action<Experiment, ExperimentDecision>? decided = null)
    {
        Model = model;
        Settings = settings;
        _decided = decided;
        Started = DateTimeOffset.UtcNow;
    }

    public string Model { get; }
    public ExperimentSettings Settings { get; }
    public DateTimeOffset Started { get; }
    public VariantStats Control { get; } = new();
    public VariantStats Candidate { get; } = new();

    /// <summary>The decision that ended the experiment, or null while it runs.</summary>
    public ExperimentDecision? Decision { get; private set; }

    public bool IsRunning => Decision is null;

    /// <summary>What the sticky hash is salted with: the same experiment places a user the same way after a restart.</summary>
    public string Salt => $"{Model}/{Settings.Control}/{Settings.Candidate}";

    public string VersionOf(Variant variant) => variant == Variant.Control ? Settings.Control : Settings.Candidate;

    public VariantStats Stats(Variant variant) => variant == Variant.Control ? Control : Candidate;

    /// <summary>Records an answer (or a 5xx) of a variant and, every <see cref="GuardrailPeriod"/> answers, checks the guardrails.</summary>
    /// <returns>The rollback decision when a guardrail was breached, else null.</returns>
    public ExperimentDecision? RecordRequest(Variant variant, double milliseconds, bool error)
    {
        if (!IsRunning) return null;
        Stats(variant).RecordRequest(milliseconds, error);
        if (Interlocked.Increment(ref _answers) % GuardrailPeriod != 0 || !Settings.AutoDecide) return null;
        var (control, candidate) = (Control.Read(), Candidate.Read());
        string? breach = GuardrailBreach(control, candidate);
        return breach is null ? null : End("rollback", breach, automatic: true);
    }

    /// <summary>Records whether a variant's answer was right, then runs the sequential test.</summary>
    /// <returns>The decision when the test reached significance (and <see cref="ExperimentSettings.AutoDecide"/> is on), else null.</returns>
    public ExperimentDecision? RecordLabel(Variant variant, bool correct)
    {
        if (!IsRunning) return null;
        Stats(variant).RecordLabel(correct);
        var (control, candidate) = (Control.Labels(), Candidate.Labels());
        bool significant;
        double difference;
        lock (_lock)
        {
            if (control.Labeled < Settings.MinSamples || candidate.Labeled < Settings.MinSamples) return null;
            var evidence = MsprtTest.Evaluate(control.Labeled, control.Correct, candidate.Labeled, candidate.Correct, Settings.Tau);
            _likelihoodRatio = evidence.LikelihoodRatio;
            _pValue = Math.Min(_pValue, evidence.PValue);
            significant = _pValue <= Settings.Alpha;
            difference = evidence.Difference;
        }
        if (!significant || !Settings.AutoDecide) return null;
        return difference > 0
            ? End("promote", $"the candidate's accuracy is significantly higher (always-valid p {_pValue:G3} <= alpha {Settings.Alpha})", automatic: true)
            : End("rollback", $"the candidate's accuracy is significantly lower (always-valid p {_pValue:G3} <= alpha {Settings.Alpha})", automatic: true);
    }

    /// <summary>Ends the experiment with <paramref name="action"/> (promote, rollback or stop) unless it has ended already.</summary>
    /// <returns>The decision, or null when another one came first.</returns>
    public ExperimentDecision? End(string action, string reason, bool automatic)
    {
        ExperimentDecision decision;
        lock (_lock)
        {
            if (Decision is not null) return null;
            string? served = action switch { "promote" => Settings.Candidate, "rollback" => Settings.Control, _ => null };
            decision = new ExperimentDecision(action, reason, automatic, DateTimeOffset.UtcNow, served, Evidence());
            Decision = decision;
        }
        _decided?.Invoke(this, decision);
        return decision;
    }

    /// <summary>The counts and the test's statistics now.</summary>
    public ExperimentEvidence Evidence()
    {
        var (control, candidate) = (Control.Read(), Candidate.Read());
        var now = MsprtTest.Evaluate(control.Labeled, control.Correct, candidate.Labeled, candidate.Correct, Settings.Tau);
        lock (_lock)
            return new ExperimentEvidence(control, candidate, now.Difference, _likelihoodRatio, _pValue,
                control.Labeled >= Settings.MinSamples && candidate.Labeled >= Settings.MinSamples);
    }

    private string? GuardrailBreach(VariantStats.Snapshot control, VariantStats.Snapshot candidate)
    {
        var limits = Settings.Guardrails;
        if (candidate.Requests < limits.MinRequests || control.Requests < limits.MinRequests) return null;
        if (candidate.ErrorRate - control.ErrorRate > limits.MaxErrorRateIncrease)
            return $"the candidate's error rate {candidate.ErrorRate:P2} exceeds the control's {control.ErrorRate:P2} by more than {limits.MaxErrorRateIncrease:P2}";
        bool slower = candidate.Requests - candidate.Errors >= P99MinAnswers && control.Requests - control.Errors >= P99MinAnswers
            && candidate.P99Ms > limits.MaxP99Ratio * control.P99Ms && candidate.P99Ms - control.P99Ms > limits.MinP99IncreaseMs;
        int breaches = 0;
        if (slower) breaches = Interlocked.Increment(ref _p99Breaches);
        else Interlocked.Exchange(ref _p99Breaches, 0);
        if (breaches >= P99ConsecutiveBreaches)
            return $"the candidate's p99 latency {candidate.P99Ms:F1} ms exceeds {limits.MaxP99Ratio} x the control's {control.P99Ms:F1} ms (last {Math.Min(candidate.Requests - candidate.Errors, VariantStats.LatencyWindow)} answers, {breaches} checks in a row)";
        return null;
    }
}

/// <summary>The evidence behind a decision, or the state of a running test.</summary>
/// <param name="Control">The control's figures.</param>
/// <param name="Candidate">The candidate's figures.</param>
/// <param name="Difference">Candidate accuracy minus control accuracy.</param>
/// <param name="LikelihoodRatio">The mSPRT mixture likelihood ratio at the last test (1 before the minimum sample).</param>
/// <param name="PValue">The always-valid p-value (running minimum; 1 before the minimum sample).</param>
/// <param name="Testing">Whether both variants have the minimum sample, so the test is watching.</param>
internal sealed record ExperimentEvidence(VariantStats.Snapshot Control, VariantStats.Snapshot Candidate, double Difference,
    double LikelihoodRatio, double PValue, bool Testing);

/// <summary>How an experiment ended.</summary>
/// <param name="Action">promote, rollback or stop.</param>
/// <param name="Reason">Why, in words.</param>
/// <param name="Automatic">Taken by the test or a guardrail (true) or through the API (false).</param>
/// <param name="Time">When.</param>
/// <param name="ServedVersion">The version served by default afterwards (null after stop: the repository's default).</param>
/// <param name="Evidence">The figures at that moment.</param>
internal sealed record ExperimentDecision(string Action, string Reason, bool Automatic, DateTimeOffset Time, string? ServedVersion, ExperimentEvidence Evidence);
