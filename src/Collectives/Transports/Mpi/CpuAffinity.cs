using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// The CPUs this process may run on (Linux sched_getaffinity), as a bit mask of 1024 CPUs in 16 longs, so the ranks of
/// a node can tell, by OR-ing their masks, how many CPUs they share: mpiexec binding each rank to a core of its own
/// leaves every rank seeing one CPU (Environment.ProcessorCount = 1), which is not oversubscription.
/// </summary>
internal static unsafe class CpuAffinity
{
    public const int MaskLongs = 16;

    [DllImport("libc", SetLastError = true)]
    private static extern int sched_getaffinity(int pid, nuint size, void* mask);

    /// <summary>Fills <paramref name="mask"/> (<see cref="MaskLongs"/> longs); where the call is unavailable, CPUs 0 to ProcessorCount - 1.</summary>
    public static void Read(long* mask)
    {
        new Span<long>(mask, MaskLongs).Clear();
        try
        {
            if (OperatingSystem.IsLinux() && sched_getaffinity(0, MaskLongs * sizeof(long), mask) == 0) return;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        new Span<long>(mask, MaskLongs).Clear();
        for (int cpu = 0; cpu < Math.Min(Environment.ProcessorCount, MaskLongs * 64); cpu++) mask[cpu / 64] |= 1L << (cpu % 64);
    }

    /// <summary>How many CPUs a mask names.</summary>
    public static int Count(long* mask)
    {
        int count = 0;
        for (int i = 0; i < MaskLongs; i++) count += System.Numerics.BitOperations.PopCount((ulong)mask[i]);
        return count;
    }
}
