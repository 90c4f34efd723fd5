namespace AllReduceNet.Perf;

/// <summary>One line of the sweep: nccl-tests' columns plus the memcpy bandwidth of the same size.</summary>
public sealed record ResultRow(
    string Transport, int Ranks, long Bytes, long Count, string Type, string Op, string Algorithm,
    double TimeMicroseconds, double AlgorithmBandwidth, double BusBandwidth, long Wrong, double MemcpyBandwidth);
