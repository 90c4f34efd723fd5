namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// <see cref="Communicator.TryIrecvLoan"/>: a point-to-point receive that lends the receiver the sender's buffer (the
/// masked ring reads the neighbour's masked integers and its own floats in one pass on its own thread). The send
/// completes only when the loan is returned; a lent send (<see cref="Communicator.TryIsendLent{T}"/>) may be written
/// back; a message of another length is not lent; wrong arguments are named.
/// </summary>
public unsafe class UserReceiveLoanTests
{
    [Theory]
    [InlineData(5)]            // below the eager limit: the send is staged (copied aside) before the receive is posted
    [InlineData(100_003)]      // a rendezvous: the payload is the sender's own array
    public void TheReceiverReadsTheSendersBytes_AndTheSendCompletesOnlyOnReturn(int count)
    {
        var results = World.Run(2, comm =>
        {
            Assert.True(comm.LendsUserSends);
            int peer = 1 - comm.Rank;
            var outgoing = Enumerable.Range(0, count).Select(i => i * 3 + comm.Rank).ToArray();
            // Rank 1 sends first, so its small send is staged; rank 0 posts its receive first.
            Request? send = comm.Rank == 1 ? comm.Isend<int>(outgoing, peer, 5) : null;
            comm.Barrier();
            var loan = comm.TryIrecvLoan((long)count * sizeof(int), peer, 5);
            Assert.NotNull(loan);
            send ??= comm.Isend<int>(outgoing, peer, 5);
            var status = loan!.Request.Wait(TimeSpan.FromSeconds(20));
            Assert.Equal((peer, 5, (long)count * sizeof(int)), (status.Source, status.Tag, status.ByteCount));
            var lent = new ReadOnlySpan<int>(loan.Payload, count).ToArray();
            comm.Barrier();   // both ranks hold their loans here: a rendezvous send cannot have completed yet
            bool heldWhileLent = count <= 8 * 1024 / sizeof(int) || !send.IsCompleted;
            comm.Barrier();
            loan.Return();
            loan.Return();   // idempotent
            send.Wait(TimeSpan.FromSeconds(20));
            return (heldWhileLent, lent.SequenceEqual(Enumerable.Range(0, count).Select(i => i * 3 + peer)));
        });
        Assert.All(results, r => Assert.Equal((true, true), r));
    }

    [Theory]
    [InlineData(5, true)]          // lent: below the eager limit, yet not staged, so the receiver writes the sender's array
    [InlineData(5, false)]         // ordinary: staged, the loan is a copy and not writable
    [InlineData(100_003, true)]
    [InlineData(100_003, false)]   // a rendezvous, but the sender did not allow writes
    public void ALentSendLetsTheReceiverWriteBack_AndTheSenderSeesItOnCompletion(int count, bool lent)
    {
        var results = World.Run(2, comm =>
        {
            int peer = 1 - comm.Rank;
            var outgoing = Enumerable.Range(0, count).Select(i => i * 3 + comm.Rank).ToArray();
            // Rank 1 sends before rank 0 posts its receive: a small ordinary send is staged then.
            Request? send = comm.Rank == 1 ? Send(comm, outgoing, peer, lent) : null;
            comm.Barrier();
            var loan = comm.TryIrecvLoan((long)count * sizeof(int), peer, 7)!;
            send ??= Send(comm, outgoing, peer, lent);
            loan.Request.Wait(TimeSpan.FromSeconds(20));
            bool writable = loan.Writable;
            if (writable) new Span<int>(loan.Payload, count).Fill(-1);
            loan.Return();
            send.Wait(TimeSpan.FromSeconds(20));
            return (writable, outgoing.All(v => v == -1));
        });
        Assert.All(results, r => Assert.Equal((lent, lent), r));
    }

    private static Request Send(Communicator comm, int[] data, int peer, bool lent) =>
        lent ? comm.TryIsendLent<int>(data, peer, 7)! : comm.Isend<int>(data, peer, 7);

    [Fact]
    public void AMessageOfAnotherLengthIsNotLent_ItsStatusTellsTheLength_AndTheSendCompletes()
    {
        var results = World.Run(2, comm =>
        {
            if (comm.Rank == 0)
            {
                comm.Isend<int>(new int[10_000], 1, 5).Wait(TimeSpan.FromSeconds(20));   // a rendezvous: completes without any Return
                return true;
            }
            var loan = comm.TryIrecvLoan(16 * sizeof(int), 0, 5)!;
            var status = loan.Request.Wait(TimeSpan.FromSeconds(20));
            Assert.Equal(10_000L * sizeof(int), status.ByteCount);
            bool nothingLent = loan.Payload == null;
            loan.Return();
            return nothingLent;
        });
        Assert.Equal(new[] { true, true }, results);
    }

    [Fact]
    public void WildcardsOutOfRangeSourcesAndNegativeLengthsAreRefusedByName()
    {
        World.Run(2, comm =>
        {
            Assert.Equal("source", Assert.Throws<ArgumentOutOfRangeException>(() => comm.TryIrecvLoan(sizeof(int), Communicator.AnySource, 1)).ParamName);
            Assert.Equal("tag", Assert.Throws<ArgumentOutOfRangeException>(() => comm.TryIrecvLoan(sizeof(int), 0, Communicator.AnyTag)).ParamName);
            Assert.Throws<ArgumentOutOfRangeException>(() => comm.TryIrecvLoan(sizeof(int), 2, 1));
            Assert.Equal("bytes", Assert.Throws<ArgumentOutOfRangeException>(() => comm.TryIrecvLoan(-4, 0, 1)).ParamName);
        });
    }
}
