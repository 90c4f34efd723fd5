using System.Globalization;

namespace AllReduceNet.Collectives;

/// <summary>
/// Settings read once from the environment, as NCCL reads NCCL_ALGO: they override the code's choices without a rebuild.
/// </summary>
internal static class EnvironmentSettings
{
    /// <summary>ALLREDUCENET_TIMEOUT_SECONDS: the default timeout of every wait (300 s if unset).</summary>
    public static TimeSpan DefaultTimeout { get; } = ReadSeconds("ALLREDUCENET_TIMEOUT_SECONDS", 300);

    /// <summary>ALLREDUCENET_ALGO=ring|tree|rd|native|auto: forces the AllReduce algorithm of calls that ask for Auto.</summary>
    public static AllReduceAlgorithm? ForcedAlgorithm { get; } = ReadAlgorithm();

    /// <summary>ALLREDUCENET_DEBUG=1: log each collective's algorithm choice and the reason to standard error.</summary>
    public static bool Debug { get; } = ReadFlag("ALLREDUCENET_DEBUG");

    /// <summary>ALLREDUCENET_VALIDATE=1: check every rank's arguments before each collective.</summary>
    public static bool Validate { get; } = ReadFlag("ALLREDUCENET_VALIDATE");

    /// <summary>ALLREDUCENET_SEGMENT_BYTES: the pipelining unit, for every transport (default: the transport's own, <see cref="Communicator.DefaultSegmentBytes"/>).</summary>
    public static int? SegmentBytes { get; } = ReadInt("ALLREDUCENET_SEGMENT_BYTES", -1, min: 64) is int n and > 0 ? n : null;

    /// <summary>ALLREDUCENET_TREE_THRESHOLD_BYTES: messages up to this size use the tree under Auto.</summary>
    public static long? TreeThresholdBytes { get; } = ReadLong("ALLREDUCENET_TREE_THRESHOLD_BYTES");

    /// <summary>ALLREDUCENET_RD_THRESHOLD_BYTES: messages up to this size use recursive doubling under Auto (0: never).</summary>
    public static long? RecursiveDoublingThresholdBytes { get; } = ReadLong("ALLREDUCENET_RD_THRESHOLD_BYTES");

    /// <summary>
    /// ALLREDUCENET_MPI_SHM=0: under MPI, send the collectives' messages through MPI's point-to-point calls even
    /// between ranks of one node (by default they go through shared memory queues there).
    /// </summary>
    public static bool MpiSharedMemory { get; } = ReadFlag("ALLREDUCENET_MPI_SHM", fallback: true);

    /// <summary>
    /// ALLREDUCENET_SHM_SLOT_BYTES: payload bytes of one shared-memory slot, rounded down to a multiple of 64 (default
    /// 512 KiB: measured at 2 ranks, 512 KiB to 1 MiB slots beat 16 to 256 KiB ones at every size from 512 KiB up,
    /// since each rank's core does its own copies either way and finer fragments only add hand-offs).
    /// </summary>
    public static int SharedMemorySlotBytes { get; } = ReadInt("ALLREDUCENET_SHM_SLOT_BYTES", 512 << 10, min: 64) / 64 * 64;

    /// <summary>ALLREDUCENET_SHM_SLOTS: slots per shared-memory queue, how far a sender may run ahead (default 4).</summary>
    public static int SharedMemorySlots { get; } = ReadInt("ALLREDUCENET_SHM_SLOTS", 4, min: 2);

    /// <summary>An on/off switch: unset gives <paramref name="fallback"/>; a switch that is on unless said otherwise turns off only for 0, false or no, one that is off turns on only for 1, true or yes.</summary>
    private static bool ReadFlag(string name, bool fallback = false)
    {
        var v = Environment.GetEnvironmentVariable(name)?.Trim();
        if (string.IsNullOrEmpty(v)) return fallback;
        bool Is(string a, string b, string c) =>
            v.Equals(a, StringComparison.OrdinalIgnoreCase) || v.Equals(b, StringComparison.OrdinalIgnoreCase) || v.Equals(c, StringComparison.OrdinalIgnoreCase);
        return fallback ? !Is("0", "false", "no") : Is("1", "true", "yes");
    }

    private static TimeSpan ReadSeconds(string name, double fallback)
    {
        var v = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(v)) return TimeSpan.FromSeconds(fallback);
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0) return TimeSpan.FromSeconds(s);
        throw new InvalidOperationException($"{name}='{v}' is not a positive number of seconds.");
    }

    private static int ReadInt(string name, int fallback, int min)
    {
        var v = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(v)) return fallback;
        if (int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min) return n;
        throw new InvalidOperationException($"{name}='{v}' is not a whole number of at least {min}.");
    }

    private static long? ReadLong(string name)
    {
        var v = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(v)) return null;
        if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0) return n;
        throw new InvalidOperationException($"{name}='{v}' is not a whole number of bytes.");
    }

    private static AllReduceAlgorithm? ReadAlgorithm()
    {
        var v = Environment.GetEnvironmentVariable("ALLREDUCENET_ALGO");
        if (string.IsNullOrWhiteSpace(v)) return null;
        return v.Trim().ToLowerInvariant() switch
        {
            "auto" => null,
            "ring" => AllReduceAlgorithm.Ring,
            "tree" => AllReduceAlgorithm.Tree,
            "rd" or "recursive-doubling" or "recursivedoubling" => AllReduceAlgorithm.RecursiveDoubling,
            "direct" => AllReduceAlgorithm.Direct,
            "native" or "mpi" => AllReduceAlgorithm.Native,
            _ => throw new InvalidOperationException($"ALLREDUCENET_ALGO='{v}' is not one of ring, tree, rd (recursive doubling), direct, native, auto."),
        };
    }
}
