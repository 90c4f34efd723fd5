using System.Diagnostics;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// The board of the direct AllReduce: a rank that leaves a failed call waits while another still reads, that wait
/// ends at its deadline, and an entry taken down is seen as such.
/// </summary>
public unsafe class PeerBufferBoardTests
{
    [Fact]
    public void WaitingForReadersEndsWhenTheLastLeaves()
    {
        var board = new PeerBufferBoard(3);
        board.EnterReading();
        board.EnterReading();
        var left = new ManualResetEventSlim();
        var reader = new Thread(() =>
        {
            Thread.Sleep(100);
            board.LeaveReading();
            Thread.Sleep(100);
            left.Set();
            board.LeaveReading();
        });
        var watch = Stopwatch.StartNew();
        reader.Start();
        Assert.True(board.WaitUntilNoneReading(Deadline.After(TimeSpan.FromSeconds(10))));
        Assert.True(left.IsSet, "the wait ended while a reader was still inside");
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(150), $"returned after {watch.Elapsed}");
        reader.Join();
    }

    [Fact]
    public void WaitingForAReaderThatNeverLeavesEndsAtTheDeadline()
    {
        var board = new PeerBufferBoard(2);
        board.EnterReading();
        var watch = Stopwatch.StartNew();
        Assert.False(board.WaitUntilNoneReading(Deadline.After(TimeSpan.FromMilliseconds(200))));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(190), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void AnEntryTakenDownStaysDownUntilTheRankPublishesAgain()
    {
        var board = new PeerBufferBoard(2);
        float x = 1;
        board.Publish(1, &x, 1);
        Assert.False(board.IsRetracted(1));
        board.Retract(1);
        Assert.True(board.IsRetracted(1));
        Assert.False(board.IsRetracted(0));
        board.Publish(1, &x, 1);
        Assert.False(board.IsRetracted(1));
    }
}
