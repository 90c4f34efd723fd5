using System.Globalization;

namespace AllReduceNet.Collectives;

/// <summary>
/// Settings from the environment, as NCCL reads NCCL_ALGO: they override the code's choices without a rebuild. All are
/// read and checked together, once, when the first communicator is made (<see cref="Current"/>); a bad value is an
/// <see cref="EnvironmentSettingException"/> that names the variable, the value and what is allowed.
/// </summary>
internal sealed class EnvironmentSettings
{
    private static EnvironmentSettings? _current;

    /// <summary>The settings, read on first use. Throws <see cref="EnvironmentSettingException"/> for a bad value (and reads again next time).</summary>
    public static EnvironmentSettings Current => Volatile.Read(ref _current) ?? Load();

    private static EnvironmentSettings Load()
    {
        var settings = new EnvironmentSettings(Environment.GetEnvironmentVariable);
        Interlocked.CompareExchange(ref _current, settings, null);
        return _current!;
    }

    /// <summary>Reads the settings through <paramref name="read"/> (the environment, or a test's dictionary).</summary>
    internal EnvironmentSettings(Func<string, string?> read)
    {
        DefaultTimeout = ReadSeconds(read, "ALLREDUCENET_TIMEOUT_SECONDS", 300);
        ForcedAlgorithm = ReadAlgorithm(read);
        Debug = ReadFlag(read, "ALLREDUCENET_DEBUG", fallback: false);
        Validate = ReadFlag(read, "ALLREDUCENET_VALIDATE", fallback: false);
        Reproducible = ReadFlag(read, "ALLREDUCENET_REPRODUCIBLE", fallback: false);
        SegmentBytes = ReadInt(read, "ALLREDUCENET_SEGMENT_BYTES", min: 64);
        TreeThresholdBytes = ReadLong(read, "ALLREDUCENET_TREE_THRESHOLD_BYTES");
        RecursiveDoublingThresholdBytes = ReadLong(read, "ALLREDUCENET_RD_THRESHOLD_BYTES");
        (MpiSockets, MpiSocketsEverywhere) = ReadSockets(read);
        MpiSharedMemory = ReadFlag(read, "ALLREDUCENET_MPI_SHM", fallback: true) && !MpiSocketsEverywhere;
        SharedMemorySlotBytes = (ReadInt(read, "ALLREDUCENET_SHM_SLOT_BYTES", min: 64) ?? 512 << 10) / 64 * 64;
        SharedMemorySlots = ReadInt(read, "ALLREDUCENET_SHM_SLOTS", min: 2) ?? 4;
        SocketInterfaces = read("ALLREDUCENET_SOCKET_IFNAME")?.Trim() is { Length: > 0 } names ? names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;
        FinalizeTimeout = ReadSeconds(read, "ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS", 30);
    }

    /// <summary>ALLREDUCENET_TIMEOUT_SECONDS: the default timeout of every wait (300 s if unset).</summary>
    public TimeSpan DefaultTimeout { get; }

    /// <summary>ALLREDUCENET_ALGO=ring|tree|rd|direct|native|hierarchical|auto: forces the AllReduce algorithm of calls that ask for Auto.</summary>
    public AllReduceAlgorithm? ForcedAlgorithm { get; }

    /// <summary>ALLREDUCENET_DEBUG=1: log each collective's algorithm choice and the reason to standard error.</summary>
    public bool Debug { get; }

    /// <summary>ALLREDUCENET_VALIDATE=1: check every rank's arguments before each collective.</summary>
    public bool Validate { get; }

    /// <summary>ALLREDUCENET_REPRODUCIBLE=1: every float and double Sum/Average AllReduce is reproducible (<see cref="CollectiveOptions.Reproducible"/>).</summary>
    public bool Reproducible { get; }

    /// <summary>ALLREDUCENET_SEGMENT_BYTES: the pipelining unit, for every transport (default: the transport's own).</summary>
    public int? SegmentBytes { get; }

    /// <summary>ALLREDUCENET_TREE_THRESHOLD_BYTES: messages up to this size use the tree under Auto.</summary>
    public long? TreeThresholdBytes { get; }

    /// <summary>ALLREDUCENET_RD_THRESHOLD_BYTES: messages up to this size use recursive doubling under Auto (0: never).</summary>
    public long? RecursiveDoublingThresholdBytes { get; }

    /// <summary>
    /// ALLREDUCENET_MPI_SHM=0: under MPI, send the collectives' messages through MPI's point-to-point calls even
    /// between ranks of one node (by default they go through shared memory queues there).
    /// </summary>
    public bool MpiSharedMemory { get; }

    /// <summary>
    /// ALLREDUCENET_SHM_SLOT_BYTES: payload bytes of one shared-memory slot, rounded down to a multiple of 64 (default
    /// 512 KiB: measured at 2 ranks, 512 KiB to 1 MiB slots beat 16 to 256 KiB ones at every size from 512 KiB up,
    /// since each rank's core does its own copies either way and finer fragments only add hand-offs).
    /// </summary>
    public int SharedMemorySlotBytes { get; }

    /// <summary>ALLREDUCENET_SHM_SLOTS: slots per shared-memory queue, how far a sender may run ahead (default 4).</summary>
    public int SharedMemorySlots { get; }

    /// <summary>
    /// ALLREDUCENET_MPI_SOCKETS=1: under MPI, send the collectives' messages between ranks of different nodes through
    /// TCP connections of the transport's own (Transports/Mpi/SocketChannel.cs) instead of MPI's point-to-point calls.
    /// Off by default: on a quiet machine MPI's own TCP path was faster (0.67x against 0.58x of iperf3 at 64 MiB); the
    /// sockets win where cores are oversubscribed, since MPI's TCP only progresses while a rank polls it
    /// (benchmarks/RESULTS-cluster.md, sections "tcp" and "quiet").
    /// </summary>
    public bool MpiSockets { get; }

    /// <summary>
    /// ALLREDUCENET_MPI_SOCKETS=all: the socket channel between every pair of ranks, also on one node (no shared
    /// memory): what lets a one-host job (and its tests) exercise the path that multi-node jobs take.
    /// </summary>
    public bool MpiSocketsEverywhere { get; }

    /// <summary>
    /// ALLREDUCENET_SOCKET_IFNAME=eth0,ib0: the network interfaces (names, or name prefixes) whose IPv4 address the
    /// socket channel listens on, first match wins; default: the first interface that is up, not loopback.
    /// </summary>
    public string[]? SocketInterfaces { get; }

    /// <summary>
    /// ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS: how long MPI_Finalize may take once every rank has reached it (30 s if
    /// unset); past it the rank exits without it (see <see cref="Transports.Mpi.MpiRuntime.Finalize(int)"/>).
    /// </summary>
    public TimeSpan FinalizeTimeout { get; }

    private static readonly string[] On = ["1", "true", "yes", "on"];
    private static readonly string[] Off = ["0", "false", "no", "off"];

    private static bool ReadFlag(Func<string, string?> read, string name, bool fallback)
    {
        var v = read(name)?.Trim();
        if (string.IsNullOrEmpty(v)) return fallback;
        if (On.Contains(v, StringComparer.OrdinalIgnoreCase)) return true;
        if (Off.Contains(v, StringComparer.OrdinalIgnoreCase)) return false;
        throw new EnvironmentSettingException(name, v, $"one of {string.Join(", ", On)} (on) or {string.Join(", ", Off)} (off)");
    }

    /// <summary>ALLREDUCENET_MPI_SOCKETS: a flag (default off) with a third value, all.</summary>
    private static (bool Sockets, bool Everywhere) ReadSockets(Func<string, string?> read)
    {
        const string name = "ALLREDUCENET_MPI_SOCKETS";
        var v = read(name)?.Trim();
        if (string.Equals(v, "all", StringComparison.OrdinalIgnoreCase)) return (true, true);
        if (string.IsNullOrEmpty(v) || On.Contains(v, StringComparer.OrdinalIgnoreCase) || Off.Contains(v, StringComparer.OrdinalIgnoreCase))
            return (ReadFlag(read, name, fallback: false), false);
        throw new EnvironmentSettingException(name, v, $"one of {string.Join(", ", On)} (on) or {string.Join(", ", Off)} (off)," +
            " or all (sockets between every pair of ranks, also on one node)");
    }

    private static TimeSpan ReadSeconds(Func<string, string?> read, string name, double fallback)
    {
        var v = read(name)?.Trim();
        if (string.IsNullOrEmpty(v)) return TimeSpan.FromSeconds(fallback);
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && s < TimeSpan.MaxValue.TotalSeconds)
            return TimeSpan.FromSeconds(s);
        throw new EnvironmentSettingException(name, v, "a positive number of seconds, such as 300 or 0.5");
    }

    private static int? ReadInt(Func<string, string?> read, string name, int min)
    {
        var v = read(name)?.Trim();
        if (string.IsNullOrEmpty(v)) return null;
        if (int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min) return n;
        throw new EnvironmentSettingException(name, v, $"a whole number of bytes from {min} to {int.MaxValue}");
    }

    private static long? ReadLong(Func<string, string?> read, string name)
    {
        var v = read(name)?.Trim();
        if (string.IsNullOrEmpty(v)) return null;
        if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0) return n;
        throw new EnvironmentSettingException(name, v, "a whole number of bytes, 0 or more");
    }

    private static AllReduceAlgorithm? ReadAlgorithm(Func<string, string?> read)
    {
        const string name = "ALLREDUCENET_ALGO";
        var v = read(name)?.Trim();
        if (string.IsNullOrEmpty(v)) return null;
        return v.ToLowerInvariant() switch
        {
            "auto" => null,
            "ring" => AllReduceAlgorithm.Ring,
            "tree" => AllReduceAlgorithm.Tree,
            "rd" or "recursive-doubling" or "recursivedoubling" => AllReduceAlgorithm.RecursiveDoubling,
            "rh" or "recursive-halving" or "recursivehalving" => AllReduceAlgorithm.RecursiveHalving,
            "direct" => AllReduceAlgorithm.Direct,
            "native" or "mpi" => AllReduceAlgorithm.Native,
            "hierarchical" or "hier" => AllReduceAlgorithm.Hierarchical,
            _ => throw new EnvironmentSettingException(name, v, "one of ring, tree, rd (recursive doubling), rh (recursive halving), direct, native, hierarchical, auto"),
        };
    }
}
