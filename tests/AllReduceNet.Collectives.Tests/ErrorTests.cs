using System.Diagnostics;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

/// <summary>Misuse is an error with a clear message within seconds, never a hang or garbage.</summary>
public class ErrorTests
{
    private static RankFailedException Fails(int ranks, Action<Communicator> body, TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<RankFailedException>(() =>
            InProcessWorld.Run(ranks, body, new InProcessWorldOptions { Timeout = timeout ?? TimeSpan.FromSeconds(20) }));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the failure took {watch.Elapsed} to surface");
        return error;
    }

    [Fact]
    public void CountsOnBothSidesOfAnAutoCrossoverAreReportedAsCounts()
    {
        // 1000 floats (4 KB) go by recursive doubling under Auto, 10000 (40 KB) by the ring: the tags differ, but the
        // cause is the count, and the message says so.
        var error = Fails(2, comm => comm.AllReduce<float>(new float[comm.Rank == 0 ? 1000 : 10000], ReduceOp.Sum));
        Assert.IsType<CollectiveMismatchException>(error.InnerException);
        var message = error.InnerException!.Message;
        Assert.Contains("different counts", message);
        Assert.Contains("1000 x float", message);
        Assert.Contains("10000", message);
        Assert.Contains("Auto", message);
    }

    [Fact]
    public void ValidationListsEveryRanksArguments()
    {
        var error = Fails(3, comm =>
            comm.AllReduce<double>(new double[comm.Rank + 5], ReduceOp.Sum, new CollectiveOptions { Validate = true, Algorithm = AllReduceAlgorithm.Ring }));
        var message = error.InnerException!.Message;
        Assert.Contains("rank 0: AllReduce(ring) of 5 x double with Sum", message);
        Assert.Contains("rank 2:", message);
        Assert.Contains("of 7 x double", message);
    }

    [Fact]
    public void ATimedOutCollectiveNamesTheCallAndTheMissingRanks()
    {
        var error = Fails(4, comm =>
        {
            if (comm.Rank == 3) { Thread.Sleep(1500); return; } // never joins
            comm.AllReduce<int>(new int[64], ReduceOp.Sum);
        }, timeout: TimeSpan.FromMilliseconds(500));
        var message = error.InnerException!.Message;
        Assert.IsType<CommunicationTimeoutException>(error.InnerException);
        Assert.Contains("call #1", message);
        Assert.Contains("Ranks that never reached call #1: 3", message);
    }

    [Fact]
    public void ADirectAllReduceThatOneRankSkipsTimesOutNamingIt()
    {
        var error = Fails(4, comm =>
        {
            if (comm.Rank == 1) { Thread.Sleep(1500); return; } // never joins
            comm.AllReduce<float>(new float[100_000], ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Direct });
        }, timeout: TimeSpan.FromMilliseconds(500));
        Assert.IsType<CommunicationTimeoutException>(error.InnerException);
        Assert.Contains("Ranks that never reached call #1: 1", error.InnerException!.Message);
    }

    /// <summary>A reduction that throws (decimal overflow) fails both ranks with the cause, at once: nobody waits for a transfer that died.</summary>
    [Theory]
    [InlineData(AllReduceAlgorithm.Ring, 4)]
    [InlineData(AllReduceAlgorithm.Ring, 50_000)]
    [InlineData(AllReduceAlgorithm.Direct, 50_000)]
    public void AReductionThatThrowsFailsTheCallWithItsCause(AllReduceAlgorithm algorithm, int count)
    {
        var errors = new Exception?[2];
        Fails(2, comm =>
        {
            var data = new decimal[count];
            data.AsSpan().Fill(decimal.MaxValue);
            try { comm.AllReduce<decimal>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = algorithm }); }
            catch (Exception e) { errors[comm.Rank] = e; throw; }
        });
        // Every rank failed (none hung), and the overflow is the cause on at least one; with direct the other rank may
        // instead report that its peer left the call after a failure.
        Assert.All(errors, Assert.NotNull);
        var overflows = errors.Where(e => e is OverflowException || e!.InnerException is OverflowException).ToList();
        Assert.NotEmpty(overflows);
        if (algorithm == AllReduceAlgorithm.Ring)
        {
            // The transfer that failed is named (the other rank may fail first on another transfer, or be aborted).
            Assert.Contains(errors, e => System.Text.RegularExpressions.Regex.IsMatch(e!.Message,
                @"rank \d: reducing \d+ bytes received from rank \d into this rank's buffer failed: OverflowException"));
        }
        else
        {
            Assert.All(errors, e => Assert.True(e is OverflowException || e!.Message.Contains("left the call after a failure"), e!.ToString()));
        }
    }

    [Fact]
    public void DirectAgainstRingIsNamed()
    {
        var error = Fails(3, comm => comm.AllReduce<float>(new float[30_000], ReduceOp.Sum,
            new CollectiveOptions { Algorithm = comm.Rank == 0 ? AllReduceAlgorithm.Direct : AllReduceAlgorithm.Ring }));
        Assert.IsType<CollectiveMismatchException>(error.InnerException);
        Assert.Contains("AllReduce(direct) of float with Sum", error.InnerException!.Message);
        Assert.Contains("AllReduce(ring) of float with Sum", error.InnerException.Message);
    }

    [Fact]
    public void InvalidRootIsRejected()
    {
        var error = Fails(3, comm => comm.Broadcast<int>(new int[3], root: 3));
        Assert.IsType<ArgumentOutOfRangeException>(error.InnerException);
        Assert.Contains("root must be in [0, 3)", error.InnerException!.Message);
    }

    [Fact]
    public void TooSmallBuffersAreRejected()
    {
        World.Run(2, comm =>
        {
            var e = Assert.Throws<ArgumentException>(() => comm.AllReduce<int>(new int[10], new int[9], ReduceOp.Sum));
            Assert.Contains("result holds 9 elements but AllReduce of 10 elements needs at least 10", e.Message);
            Assert.Throws<ArgumentException>(() => comm.AllGather<int>(new int[3], new int[5]));
            Assert.Throws<ArgumentException>(() => comm.ReduceScatter<int>(new int[5], new int[3], ReduceOp.Sum));
        });
    }

    [Fact]
    public void ADisposedCommunicatorRefusesWork()
    {
        var comms = InProcessWorld.CreateCommunicators(1);
        comms[0].Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => comms[0].AllReduce<int>(new int[1], ReduceOp.Sum));
        Assert.Contains("rank 0", e.Message);
        Assert.Throws<ObjectDisposedException>(() => comms[0].Send<int>(new int[1], 0, 0));
    }

    [Fact]
    public void ZeroRanksIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => InProcessWorld.Run(0, _ => { }));
}
