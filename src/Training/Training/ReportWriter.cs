using System.Globalization;
using System.Text.Json;

namespace AllReduceNet.Training.Training;

/// <summary>
/// Rank 0's output: a line per epoch, progress during an epoch, and optionally JSON-lines records in the --log-json
/// file. Progress is a bar redrawn with carriage returns only on a terminal; elsewhere (a file, a pipe, or any
/// MPI or batch job: <see cref="Cli.BatchOutput"/>) it is a plain line at most every <see cref="PlainProgressInterval"/>.
/// </summary>
internal sealed class ReportWriter
{
    private readonly TextWriter _output;
    private readonly string? _jsonPath;
    private readonly bool _quiet;
    private readonly bool _progress;
    private readonly TimeSpan _plainInterval;
    private long _lastProgress;
    private long _lastPlainProgress;

    /// <summary>How often a plain progress line is written where there is no terminal.</summary>
    public static readonly TimeSpan PlainProgressInterval = TimeSpan.FromSeconds(30);

    public ReportWriter(TextWriter output, string? jsonPath, bool quiet, TimeSpan? plainProgressInterval = null)
    {
        _output = output;
        _jsonPath = jsonPath;
        _quiet = quiet;
        _progress = !quiet && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && !Cli.BatchOutput.IsBatch;
        _plainInterval = plainProgressInterval ?? PlainProgressInterval;
        _lastPlainProgress = Environment.TickCount64;
    }

    public void Line(string text)
    {
        if (!_quiet) _output.WriteLine(text);
    }

    public void Summary(string text) => _output.WriteLine(text);

    public void Progress(int epoch, int step, int steps)
    {
        if (_quiet) return;
        long now = Environment.TickCount64;
        if (!_progress)
        {
            // A log file gets a line now and then, never control characters.
            if (now - _lastPlainProgress < (long)_plainInterval.TotalMilliseconds || step + 1 == steps) return;
            _lastPlainProgress = now;
            _output.WriteLine($"epoch {epoch}: step {step + 1}/{steps} ({100L * (step + 1) / steps}%)");
            return;
        }
        if (now - _lastProgress < 250 && step + 1 < steps) return;
        _lastProgress = now;
        int width = 30, filled = (int)((long)width * (step + 1) / steps);
        _output.Write($"\repoch {epoch} [{new string('#', filled)}{new string('.', width - filled)}] {step + 1}/{steps}");
        if (step + 1 == steps) _output.Write("\r" + new string(' ', width + 30) + "\r");
    }

    public void Epoch(EpochReport r)
    {
        Line(string.Create(CultureInfo.InvariantCulture,
            $"epoch {r.Epoch,3}/{r.Epochs}  loss {r.Loss:F4}  train acc {100 * r.TrainAccuracy:F2}%  test acc {100 * r.TestAccuracy:F2}%  {r.SamplesPerSecond,8:F0} samples/s  {r.Seconds:F1} s  comm {100 * r.CommunicationShare:F0}%") +
            (r.Epsilon is double epsilon ? string.Create(CultureInfo.InvariantCulture, $"  epsilon {epsilon:F3} (delta {r.Delta:G3}; data set {r.DatasetEpsilon:F3})") : "") +
            (r.ConsensusDistance is { } consensus ? string.Create(CultureInfo.InvariantCulture, $"  consensus {consensus:E2}") : "") +
            (r.PhaseSeconds is { } phases ? PhaseSummary(phases) : ""));
        if (_jsonPath is null) return;
        var record = new Dictionary<string, object>
        {
            ["epoch"] = r.Epoch,
            ["epochs"] = r.Epochs,
            ["strategy"] = r.Strategy,
            ["ranks"] = r.Ranks,
            // JSON has no NaN or infinity: a diverged run (a poisoned gossip run, a learning rate too high) logs null.
            ["loss"] = double.IsFinite(r.Loss) ? r.Loss : null!,
            ["train_accuracy"] = r.TrainAccuracy,
            ["test_accuracy"] = r.TestAccuracy,
            ["epoch_seconds"] = r.Seconds,
            ["samples_per_second"] = r.SamplesPerSecond,
            ["communication_share"] = r.CommunicationShare,
        };
        if (r.Epsilon is double eps)
        {
            // JSON has no infinity: an unbounded epsilon (sigma = 0) is written as null.
            record["epsilon"] = double.IsFinite(eps) ? eps : null!;
            record["delta"] = r.Delta!;
            record["dataset_epsilon"] = r.DatasetEpsilon is double d && double.IsFinite(d) ? d : null!;
        }
        if (r.ConsensusDistance is { } distance) record["consensus_distance"] = double.IsFinite(distance) ? distance : null!;
        if (r.BytesPerStep is { } bytesPerStep) record["bytes_per_step"] = bytesPerStep;
        if (r.PhaseSeconds is { } phaseSeconds)
        {
            var byName = new Dictionary<string, double>();
            for (int p = 0; p < phaseSeconds.Length; p++) byName[PhaseTimings.Names[p]] = phaseSeconds[p];
            // The rest of the epoch: progress output, the per-step bookkeeping between phases. The phases are a mean over
            // ranks and the epoch is rank 0's, so with skew between ranks they can exceed it: then "other" is 0.
            byName["other"] = Math.Max(0, r.Seconds - phaseSeconds.Sum());
            record["phase_seconds"] = byName;
        }
        File.AppendAllText(_jsonPath, JsonSerializer.Serialize(record) + "\n");
    }

    /// <summary>The epoch line's phase summary: seconds per phase, mean over the ranks.</summary>
    private static string PhaseSummary(double[] s) => string.Create(CultureInfo.InvariantCulture,
        $"  [data {s[(int)TrainingPhase.DataLoading]:F2} fwd {s[(int)TrainingPhase.Forward]:F2} bwd {s[(int)TrainingPhase.Backward]:F2} wait {s[(int)TrainingPhase.AllReduceWait]:F2} opt {s[(int)TrainingPhase.Optimizer]:F2} s]");

    private static string MaliciousAmong(int[] clients, int[]? malicious) => malicious is null ? "" : $" ({clients.Count(malicious.Contains)} malicious)";

    /// <summary>The line (and JSON record) of a federated round.</summary>
    public void Round(Federated.RoundReport r)
    {
        Line(string.Create(CultureInfo.InvariantCulture,
            $"round {r.Round,4}/{r.Rounds}  clients {r.Sampled} sampled, {r.Survived} survived{(r.SurvivorsByStage is { } stages ? $" (stages {string.Join("/", stages)})" : "")}  loss {r.Loss:F4}  test acc {100 * r.TestAccuracy:F2}%  sent {r.BytesSentPerClient / 1024:F1} KiB/client  {r.Seconds:F2} s (aggregation {r.AggregationSeconds:F2} s)") +
            (r.ClientDp is { } dp ? string.Create(CultureInfo.InvariantCulture, $"  epsilon {dp.Epsilon:F3} (delta {dp.Delta:G3}) clip {dp.ClipNorm:G4}{(dp.NextClipNorm != dp.ClipNorm ? $" -> {dp.NextClipNorm:G4}" : "")}") : "") +
            (r.Malicious is { } bad ? $"  malicious {bad.Length}" : "") +
            (r.Rejected is { } rejected ? $"  rejected {rejected.Length}{MaliciousAmong(rejected, r.Malicious)}, down-weighted {r.DownWeighted?.Length ?? 0}{MaliciousAmong(r.DownWeighted ?? [], r.Malicious)}" : "") +
            (r.AbortReason is null ? "" : $"  aborted: {r.AbortReason}; model unchanged"));
        if (_jsonPath is null) return;
        var record = new Dictionary<string, object?>
        {
            ["round"] = r.Round,
            ["rounds"] = r.Rounds,
            ["strategy"] = r.Strategy,
            ["ranks"] = r.Ranks,
            ["clients_sampled"] = r.Sampled,
            ["clients_survived"] = r.Survived,
            // A poisoned run's local loss can overflow; JSON has no Infinity, so it is written as null.
            ["loss"] = double.IsFinite(r.Loss) ? r.Loss : null,
            ["test_accuracy"] = r.TestAccuracy,
            ["bytes_sent_per_client"] = r.BytesSentPerClient,
            ["round_seconds"] = r.Seconds,
            ["aggregation_seconds"] = r.AggregationSeconds,
            ["aborted"] = r.AbortReason,
        };
        if (r.SurvivorsByStage is { } survivors) record["clients_survived_by_stage"] = survivors;
        if (r.ClientDp is { } clientDp)
        {
            // JSON has no infinity: an unbounded epsilon (no noise) is null.
            record["client_dp_epsilon"] = double.IsFinite(clientDp.Epsilon) ? clientDp.Epsilon : null;
            record["client_dp_delta"] = clientDp.Delta;
            record["client_dp_clip"] = clientDp.ClipNorm;
            record["client_dp_next_clip"] = clientDp.NextClipNorm;
        }
        if (r.Malicious is { } malicious) record["malicious"] = malicious;
        if (r.Rejected is { } rejectedIds) record["rejected"] = rejectedIds;
        if (r.DownWeighted is { } downWeighted) record["down_weighted"] = downWeighted;
        File.AppendAllText(_jsonPath, JsonSerializer.Serialize(record) + "\n");
    }
}
