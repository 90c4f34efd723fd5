using System.Diagnostics;
using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// Host copies while the GC compacts. ILGPU copies to and from host memory through a raw pointer; IlgpuBuffer once
/// handed it an unpinned reference, and a GC that moved the host array during the copy sent the data to the array's old
/// address (the caller read zeros: the Kernels tests that failed 1 run in 4-5, more often under load). A second thread
/// compacting generation 0 without pause makes that window hit within a few hundred copies.
/// </summary>
public class HostCopyTests
{
    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void CopiesToAndFromTheHost_SurviveCompactingCollections(string name)
    {
        var backend = Backends.Get(name);
        const int n = 4099; // a small-object-heap array (under 85,000 bytes): one the GC moves
        using var buffer = backend.Allocate<float>(n);
        var stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop)) GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: true);
        }) { IsBackground = true };
        collector.Start();
        try
        {
            var random = new Random(11);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 1000 && clock.ElapsedMilliseconds < 1000; i++)
            {
                var data = random.RandomFloats(n); // fresh, in generation 0
                buffer.CopyFrom(data);
                var back = buffer.ToArray();
                int bad = data.AsSpan().CommonPrefixLength(back);
                if (bad < n) Assert.Fail($"{name}, copy {i}: element {bad} came back {back[bad]}, was {data[bad]}");
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
    }
}
