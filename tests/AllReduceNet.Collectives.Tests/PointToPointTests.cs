namespace AllReduceNet.Collectives.Tests;

/// <summary>Sends, receives, wildcards, truncation, non-blocking requests and splitting, in-process.</summary>
public class PointToPointTests
{
    [Fact]
    public void MessagesBetweenTwoRanksArriveInOrderAndByTag()
    {
        World.Run(2, comm =>
        {
            if (comm.Rank == 0)
            {
                comm.Send<int>(new[] { 1, 2, 3 }, 1, tag: 7);
                comm.Send<int>(new[] { 4 }, 1, tag: 7);
                comm.Send<int>(new[] { 9, 9 }, 1, tag: 8);
            }
            else
            {
                var buffer = new int[8];
                var status = comm.Receive<int>(buffer, 0, tag: 8); // tag 8 first: matching is by tag, not arrival
                Assert.Equal((0, 8, 2L), (status.Source, status.Tag, status.Count<int>()));
                status = comm.Receive<int>(buffer, Communicator.AnySource, 7);
                Assert.Equal(3, status.Count<int>());
                Assert.Equal(new[] { 1, 2, 3 }, buffer[..3]);
                status = comm.Receive<int>(buffer, 0, Communicator.AnyTag);
                Assert.Equal(new[] { 4 }, buffer[..1]);
            }
        });
    }

    [Fact]
    public void AnySourceCollectsFromEveryRank()
    {
        var got = World.Run(6, comm =>
        {
            if (comm.Rank != 0) { comm.Send<int>(new[] { comm.Rank * 10 }, 0, 1); return new int[0]; }
            var values = new List<int>();
            var one = new int[1];
            for (int i = 1; i < comm.Size; i++)
            {
                var status = comm.Receive<int>(one, Communicator.AnySource, 1);
                Assert.Equal(status.Source * 10, one[0]);
                values.Add(one[0]);
            }
            return values.Order().ToArray();
        });
        Assert.Equal(new[] { 10, 20, 30, 40, 50 }, got[0]);
    }

    [Fact]
    public void NonBlockingRequestsInARingDoNotDeadlock()
    {
        var received = World.Run(5, comm =>
        {
            var into = new double[1000];
            var recv = comm.Irecv<double>(into, (comm.Rank + comm.Size - 1) % comm.Size, 3);
            var send = comm.Isend<double>(Enumerable.Repeat((double)comm.Rank, 1000).ToArray(), (comm.Rank + 1) % comm.Size, 3);
            Request.WaitAll(new[] { recv, send }, TimeSpan.FromSeconds(10));
            Assert.True(recv.Test());
            return into[999];
        });
        Assert.Equal(new double[] { 4, 0, 1, 2, 3 }, received);
    }

    [Fact]
    public void SendReceiveSwapsWithThePartner()
    {
        var got = World.Run(4, comm =>
        {
            int partner = comm.Rank ^ 1;
            var into = new long[2];
            comm.SendReceive<long>(new long[] { comm.Rank, comm.Rank }, partner, 0, into, partner, 0);
            return into[0];
        });
        Assert.Equal(new long[] { 1, 0, 3, 2 }, got);
    }

    [Fact]
    public void AMessageLongerThanTheBufferIsAnErrorNamingBothSizes()
    {
        var error = Assert.Throws<RankFailedException>(() => World.Run(2, comm =>
        {
            if (comm.Rank == 0) comm.Send<int>(new int[10], 1, 0);
            else comm.Receive<int>(new int[4], 0, 0);
        }));
        Assert.Equal(1, error.Rank);
        Assert.Contains("40 bytes from rank 0", error.InnerException!.Message);
        Assert.Contains("16-byte receive buffer", error.InnerException.Message);
    }

    [Fact]
    public void BadRankOrTagIsRejectedWithItsValue()
    {
        World.Run(2, comm =>
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => comm.Send<int>(new int[1], 5, 0));
            Assert.Contains("destination must be in [0, 2)", e.Message);
            Assert.Contains("was 5", e.Message);
            var t = Assert.Throws<ArgumentOutOfRangeException>(() => comm.Send<int>(new int[1], 1, -3));
            Assert.Contains("was -3", t.Message);
        });
    }

    [Fact]
    public void ReceiveWithNoSenderTimesOutWithADescription()
    {
        World.Run(2, comm =>
        {
            if (comm.Rank != 0) return;
            var e = Assert.Throws<CommunicationTimeoutException>(() => comm.Receive<int>(new int[1], 1, 42, TimeSpan.FromMilliseconds(200)));
            Assert.Contains("receive of up to 4 bytes from rank 1 (tag 42)", e.Message);
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(9)]
    public void SplitGroupsByColorAndOrdersByKey(int ranks)
    {
        var results = World.Run(ranks, comm =>
        {
            int color = comm.Rank == 0 ? -1 : comm.Rank % 2;  // rank 0 opts out
            using var sub = comm.Split(color, key: -comm.Rank);   // reverse order inside each group
            if (sub is null) return (-1, -1, -1);
            var sum = new[] { comm.Rank };
            sub.AllReduce<int>(sum, ReduceOp.Sum);
            return (sub.Rank, sub.Size, sum[0]);
        });
        Assert.Equal((-1, -1, -1), results[0]);
        for (int r = 1; r < ranks; r++)
        {
            var members = Enumerable.Range(1, ranks - 1).Where(m => m % 2 == r % 2).OrderByDescending(m => m).ToList();
            Assert.Equal((members.IndexOf(r), members.Count, members.Sum()), results[r]);
        }
    }

    [Fact]
    public void UserMessagesAndCollectivesDoNotMix()
    {
        World.Run(3, comm =>
        {
            // A user message with any tag is posted first; the collective's messages must not match it.
            var inbox = new int[4];
            var pending = comm.Irecv<int>(inbox, Communicator.AnySource, Communicator.AnyTag);
            var data = new[] { comm.Rank + 1 };
            comm.AllReduce<int>(data, ReduceOp.Sum);
            Assert.Equal(6, data[0]);
            comm.Send<int>(new[] { comm.Rank }, (comm.Rank + 1) % 3, 5);
            pending.Wait(TimeSpan.FromSeconds(10));
            Assert.Equal((comm.Rank + 2) % 3, inbox[0]);
        });
    }
}
