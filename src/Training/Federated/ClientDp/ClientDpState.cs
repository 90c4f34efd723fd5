using System.Text.Json;
using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Training.Federated.ClientDp;

/// <summary>
/// What a federated checkpoint keeps of client-level DP, in the file CHECKPOINT.client-dp.json beside it (the binary
/// checkpoint format stays as it is): the run id the ledger records under, the clip norm each round used and the one
/// the next round will use (adaptive clipping), and the accountant's history. It is written before the checkpoint,
/// so after a crash between the two it is at most one round ahead; --resume then keeps the rounds the checkpoint has.
/// </summary>
/// <param name="RunId">The ledger's run id, the same across --resume.</param>
/// <param name="CompletedRounds">Rounds composed in <paramref name="Accountant"/>.</param>
/// <param name="ClipNorms">ClipNorms[r] is the clip norm of round r (0-based); CompletedRounds + 1 entries.</param>
/// <param name="Accountant">The RDP accountant's state: one entry per run of equal (q, z) rounds.</param>
internal sealed record ClientDpState(string RunId, int CompletedRounds, double[] ClipNorms, AccountantState Accountant)
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The state file of a checkpoint.</summary>
    public static string PathFor(string checkpointPath) => checkpointPath + ".client-dp.json";

    /// <summary>Writes atomically (PATH.tmp, flushed, renamed over PATH).</summary>
    public void Write(string path)
    {
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(file, this, Options);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads and checks a state file.</summary>
    /// <exception cref="TrainingException">Missing, not JSON, or inconsistent (names the file and the field).</exception>
    public static ClientDpState Read(string path)
    {
        if (!File.Exists(path))
            throw new TrainingException($"--resume with --client-dp: {path} does not exist, so the privacy already spent by the checkpoint's rounds is unknown (was the checkpoint written without --client-dp?).");
        ClientDpState? state;
        try { state = JsonSerializer.Deserialize<ClientDpState>(File.ReadAllText(path), Options); }
        catch (JsonException e) { throw new TrainingException($"{path}: not a client-level DP state ({e.Message})."); }
        if (state is null || string.IsNullOrWhiteSpace(state.RunId) || state.ClipNorms is null || state.Accountant?.History is null || state.Accountant.Orders is null)
            throw new TrainingException($"{path}: the client-level DP state lacks its runId, clipNorms or accountant.");
        if (state.ClipNorms.Length != state.CompletedRounds + 1)
            throw new TrainingException($"{path}: clipNorms has {state.ClipNorms.Length} entries, but {state.CompletedRounds} completed rounds need {state.CompletedRounds + 1}.");
        if (state.Accountant.History.Sum(h => h.Steps) != state.CompletedRounds)
            throw new TrainingException($"{path}: the accountant composed {state.Accountant.History.Sum(h => h.Steps)} rounds, but completedRounds is {state.CompletedRounds}.");
        return state;
    }
}
