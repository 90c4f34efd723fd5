using System.Globalization;
using System.Text.Json;

namespace AllReduceNet.Training.Training;

/// <summary>
/// Rank 0's output: a line per epoch, a progress line during an epoch (only when stdout is a terminal, redrawn with a
/// carriage return), and optionally JSON-lines records in the --log-json file.
/// </summary>
internal sealed class ReportWriter
{
    private readonly TextWriter _output;
    private readonly string? _jsonPath;
    private readonly bool _quiet;
    private readonly bool _progress;
    private long _lastProgress;

    public ReportWriter(TextWriter output, string? jsonPath, bool quiet)
    {
        _output = output;
        _jsonPath = jsonPath;
        _quiet = quiet;
        _progress = !quiet && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
    }

    public void Line(string text)
    {
        if (!_quiet) _output.WriteLine(text);
    }

    public void Summary(string text) => _output.WriteLine(text);

    public void Progress(int epoch, int step, int steps)
    {
        if (!_progress) return;
        long now = Environment.TickCount64;
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
            (r.ConsensusDistance is { } consensus ? string.Create(CultureInfo.InvariantCulture, $"  consensus {consensus:E2}") : ""));
        if (_jsonPath is null) return;
        var record = new Dictionary<string, object>
        {
            ["epoch"] = r.Epoch,
            ["epochs"] = r.Epochs,
            ["strategy"] = r.Strategy,
            ["ranks"] = r.Ranks,
            ["loss"] = r.Loss,
            ["train_accuracy"] = r.TrainAccuracy,
            ["test_accuracy"] = r.TestAccuracy,
            ["epoch_seconds"] = r.Seconds,
            ["samples_per_second"] = r.SamplesPerSecond,
            ["communication_share"] = r.CommunicationShare,
        };
        if (r.ConsensusDistance is { } distance) record["consensus_distance"] = distance;
        File.AppendAllText(_jsonPath, JsonSerializer.Serialize(record) + "\n");
    }

    /// <summary>The line (and JSON record) of a federated round.</summary>
    public void Round(Federated.RoundReport r)
    {
        Line(string.Create(CultureInfo.InvariantCulture,
            $"round {r.Round,4}/{r.Rounds}  clients {r.Sampled} sampled, {r.Survived} survived{(r.SurvivorsByStage is { } stages ? $" (stages {string.Join("/", stages)})" : "")}  loss {r.Loss:F4}  test acc {100 * r.TestAccuracy:F2}%  sent {r.BytesSentPerClient / 1024:F1} KiB/client  {r.Seconds:F2} s (aggregation {r.AggregationSeconds:F2} s)") +
            (r.ClientDp is { } dp ? string.Create(CultureInfo.InvariantCulture, $"  epsilon {dp.Epsilon:F3} (delta {dp.Delta:G3}) clip {dp.ClipNorm:G4}{(dp.NextClipNorm != dp.ClipNorm ? $" -> {dp.NextClipNorm:G4}" : "")}") : "") +
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
            ["loss"] = r.Loss,
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
        File.AppendAllText(_jsonPath, JsonSerializer.Serialize(record) + "\n");
    }
}
