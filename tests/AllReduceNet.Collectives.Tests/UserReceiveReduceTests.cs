using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// <see cref="Communicator.TryIrecvReduce"/>: a point-to-point receive whose payload the in-process transport adds
/// straight from the sender's memory (the masked ring's integer adds), with a message of another length left unreduced.
/// </summary>
public unsafe class UserReceiveReduceTests
{
    private static void SubtractFromTarget(void* target, void* source, long bytes)
    {
        var t = new Span<int>(target, (int)(bytes / sizeof(int)));
        var s = new ReadOnlySpan<int>(source, t.Length);
        for (int i = 0; i < t.Length; i++) t[i] = unchecked(t[i] - s[i]);
    }

    [Theory]
    [InlineData(5)]            // below the eager limit: the send is staged before the receive is posted
    [InlineData(100_003)]      // several 32 KiB blocks, which both ranks may take, and a ragged last block
    public void TheReceivedPayloadIsReducedIntoTheTargetElementByElement(int count)
    {
        var results = World.Run(2, comm =>
        {
            Assert.True(comm.ReducesUserReceives);
            var mine = Enumerable.Range(0, count).Select(i => i * 3 + comm.Rank).ToArray();
            var expected = mine.Select((v, i) => unchecked(v - (i * 3 + (1 - comm.Rank)))).ToArray();
            var target = GCHandle.Alloc(mine, GCHandleType.Pinned);
            try
            {
                var send = comm.Isend<int>(Enumerable.Range(0, count).Select(i => i * 3 + comm.Rank).ToArray(), 1 - comm.Rank, 5);
                var receive = comm.TryIrecvReduce((void*)target.AddrOfPinnedObject(), (long)count * sizeof(int), 1 - comm.Rank, 5, &SubtractFromTarget);
                Assert.NotNull(receive);
                var status = receive!.Wait(TimeSpan.FromSeconds(20));
                send.Wait(TimeSpan.FromSeconds(20));
                Assert.Equal((1 - comm.Rank, 5, (long)count * sizeof(int)), (status.Source, status.Tag, status.ByteCount));
                return mine.SequenceEqual(expected);
            }
            finally { target.Free(); }
        });
        Assert.Equal(new[] { true, true }, results);
    }

    [Fact]
    public void AMessageOfAnotherLengthIsNotReducedAndItsStatusTellsTheLength()
    {
        var results = World.Run(2, comm =>
        {
            if (comm.Rank == 0)
            {
                comm.Send<int>(new int[10], 1, 5);
                return true;
            }
            var mine = new int[16];
            Array.Fill(mine, 7);
            fixed (int* p = mine)
            {
                var receive = comm.TryIrecvReduce(p, mine.Length * sizeof(int), 0, 5, &SubtractFromTarget)!;
                var status = receive.Wait(TimeSpan.FromSeconds(20));
                Assert.Equal(10L * sizeof(int), status.ByteCount);
            }
            return mine.All(v => v == 7);
        });
        Assert.Equal(new[] { true, true }, results);
    }

    [Fact]
    public void WildcardsAndOutOfRangeSourcesAreRefusedByName()
    {
        World.Run(2, comm =>
        {
            // Every call here is refused before the target is touched, so none is needed.
            var anySource = Assert.Throws<ArgumentOutOfRangeException>(() => comm.TryIrecvReduce(null, sizeof(int), Communicator.AnySource, 1, &SubtractFromTarget));
            Assert.Equal("source", anySource.ParamName);
            var anyTag = Assert.Throws<ArgumentOutOfRangeException>(() => comm.TryIrecvReduce(null, sizeof(int), 0, Communicator.AnyTag, &SubtractFromTarget));
            Assert.Equal("tag", anyTag.ParamName);
            Assert.Throws<ArgumentOutOfRangeException>(() => comm.TryIrecvReduce(null, sizeof(int), 2, 1, &SubtractFromTarget));
        });
    }
}
