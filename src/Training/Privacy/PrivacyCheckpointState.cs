using System.Text.Json;
using AllReduceNet.Privacy.Accounting;
using AllReduceNet.Training.Checkpoints;

namespace AllReduceNet.Training.Privacy;

/// <summary>
/// What a DP-SGD checkpoint keeps of the privacy accounting (its privacy section, JSON): the run id the ledger knows
/// the run by, the data set, the last step's mechanism and the accountant's history, from which --resume rebuilds
/// the accountant and prints the same ε.
/// </summary>
internal sealed record PrivacyCheckpointState(string RunId, string DatasetId, double ClipNorm, double NoiseMultiplier,
    double SamplingRate, double Delta, long Steps, AccountantState Accountant)
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Parses a checkpoint's privacy section; refuses one that is not.</summary>
    public static PrivacyCheckpointState FromJson(string json, string path)
    {
        try
        {
            var state = JsonSerializer.Deserialize<PrivacyCheckpointState>(json, Options);
            if (state?.RunId is null || state.DatasetId is null || state.Accountant?.History is null || state.Accountant.Orders is null)
                throw new CheckpointException(path, "its privacy section lacks the run id, the data set or the accountant's history");
            return state;
        }
        catch (JsonException error)
        {
            throw new CheckpointException(path, $"its privacy section is not valid JSON ({error.Message})");
        }
    }
}
