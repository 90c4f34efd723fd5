namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>What happened in one round of <see cref="InMemorySecureAggregation.RunRound"/>: the sum or the abort, and the costs.</summary>
public sealed class SecureAggregationRoundReport
{
    internal SecureAggregationRoundReport(SecureAggregationResult? result, SecureAggregationAbortedException? abort, IReadOnlyDictionary<int, string> refusals,
        int[] survivorsByStage, long[] clientBytesSent, long[] clientBytesReceived, double[] clientSeconds, double[] serverSeconds, double[] cpuSeconds)
    {
        Result = result;
        Abort = abort;
        Refusals = refusals;
        SurvivorsByStage = survivorsByStage;
        ClientBytesSent = clientBytesSent;
        ClientBytesReceived = clientBytesReceived;
        ClientSeconds = clientSeconds;
        ServerSeconds = serverSeconds;
        CpuSeconds = cpuSeconds;
    }

    /// <summary>The sum, or null when the round was aborted.</summary>
    public SecureAggregationResult? Result { get; }

    /// <summary>Why the round was aborted, or null.</summary>
    public SecureAggregationAbortedException? Abort { get; }

    /// <summary>True when the round produced a sum.</summary>
    public bool Succeeded => Result is not null;

    /// <summary>Clients refused by the server (malformed message) or that refused themselves (bad server message), with the message.</summary>
    public IReadOnlyDictionary<int, string> Refusals { get; }

    /// <summary>How many clients completed each stage that ran (U1..U4).</summary>
    public int[] SurvivorsByStage { get; }

    /// <summary>Total bytes sent by all clients, per stage.</summary>
    public long[] ClientBytesSent { get; }

    /// <summary>Total bytes received by all clients, per stage.</summary>
    public long[] ClientBytesReceived { get; }

    /// <summary>Wall-clock seconds of the clients' work per stage (clients run in parallel).</summary>
    public double[] ClientSeconds { get; }

    /// <summary>Wall-clock seconds of the server's work per stage.</summary>
    public double[] ServerSeconds { get; }

    /// <summary>CPU seconds of this process per stage, all threads (on a shared machine less noisy than wall-clock time).</summary>
    public double[] CpuSeconds { get; }

    /// <summary>Total wall-clock seconds of the round.</summary>
    public double TotalSeconds => ClientSeconds.Sum() + ServerSeconds.Sum();
}
