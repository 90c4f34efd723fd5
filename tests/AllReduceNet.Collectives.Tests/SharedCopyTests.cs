using System.Numerics;
using System.Runtime.InteropServices;
using AllReduceNet.Collectives.Operators;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// The in-process transfers that waiting ranks help with (<see cref="SharedCopy"/>): every block done exactly once,
/// nothing written after a run returned, and AllReduce through them exact for every type and operator.
/// </summary>
public unsafe class SharedCopyTests
{
    [Fact]
    public void HelpersNeverDoABlockTwiceNorTouchATransferAfterItReturned()
    {
        var copy = new SharedCopy();
        const int runs = 2000;
        var targets = new float[runs][];
        var expected = new float[runs][];
        bool stop = false;
        long helped = 0;
        // Three helpers hammer the slot the whole time, as waiting ranks do.
        var helpers = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
                if (copy.Help()) Interlocked.Increment(ref helped);
        })).ToArray();
        foreach (var t in helpers) t.Start();
        try
        {
            var random = new Random(7);
            for (int run = 0; run < runs; run++)
            {
                // Sizes around whole blocks and ragged tails.
                int count = (int)(SharedCopy.BlockBytes / sizeof(float)) * random.Next(1, 5) + random.Next(-3, 4) * 7 + 8;
                var source = new float[count];
                targets[run] = new float[count];
                expected[run] = new float[count];
                for (int i = 0; i < count; i++)
                {
                    source[i] = i % 97 + run;
                    targets[run][i] = i % 13;
                    expected[run][i] = targets[run][i] + source[i];
                }
                Assert.True(copy.TryAcquire());
                Assert.False(copy.TryAcquire());   // one runner at a time
                fixed (float* target = targets[run])
                fixed (float* s = source)
                    copy.Run((byte*)target, (byte*)s, count * sizeof(float), Reducer<float, SumOperator<float>>.Pointer);
                Assert.Equal(expected[run], targets[run]);   // each block reduced once: twice would add the source again
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            foreach (var t in helpers) t.Join();
        }
        // No helper wrote into an earlier run's buffers after that run returned.
        for (int run = 0; run < runs; run++) Assert.Equal(expected[run], targets[run]);
        Assert.True(copy.TryAcquire(), "the slot was left taken");
    }

    [Fact]
    public void CopiesWithoutAReductionToo()
    {
        var copy = new SharedCopy();
        var source = Enumerable.Range(0, 100_003).Select(i => (double)i).ToArray();
        var target = new double[source.Length];
        Assert.True(copy.TryAcquire());
        fixed (double* t = target)
        fixed (double* s = source)
            copy.Run((byte*)t, (byte*)s, source.Length * sizeof(double), null);
        Assert.Equal(source, target);
    }

    public static IEnumerable<object[]> Operators() =>
        from op in Enum.GetValues<ReduceOp>()
        from type in new[] { "float", "double", "int", "long", "Half" }
        select new object[] { op, type };

    /// <summary>Two ranks (one per core on the project's machines, so the ranks help each other) and messages of many blocks.</summary>
    [Theory]
    [MemberData(nameof(Operators))]
    public void TwoRankAllReduceOfManyBlocksIsExact(ReduceOp op, string type)
    {
        switch (type)
        {
            case "float": Check<float>(op); break;
            case "double": Check<double>(op); break;
            case "int": Check<int>(op); break;
            case "long": Check<long>(op); break;
            case "Half": Check<Half>(op); break;
            default: throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    private static void Check<T>(ReduceOp op) where T : unmanaged, INumber<T>
    {
        int count = (int)(5 * SharedCopy.BlockBytes / Marshal.SizeOf<T>()) * 2 + 11;
        foreach (var algorithm in new[] { AllReduceAlgorithm.Ring, AllReduceAlgorithm.RecursiveDoubling })
        {
            var options = new CollectiveOptions { Algorithm = algorithm, SegmentBytes = 256 << 10 };
            var results = World.Run(2, comm =>
            {
                var data = TestValues.Input<T>(comm.Rank, count, op, seed: 0);
                for (int i = 0; i < 3; i++) comm.AllReduce<T>(data.AsSpan(), op, options);   // slots reused across calls
                data = TestValues.Input<T>(comm.Rank, count, op, seed: 0);
                comm.AllReduce<T>(data.AsSpan(), op, options);
                return data;
            });
            string context = $"{algorithm} {op} {typeof(T).Name} N=2 count={count}";
            Assert.True(MemoryMarshal.AsBytes(results[0].AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(results[1].AsSpan())), $"{context}: the ranks' results differ bitwise");
            Assert.Null(TestValues.CheckReduced<T>(results[0], TestValues.Ranks(2), op, seed: 0));
        }
    }
}
