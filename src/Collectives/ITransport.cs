using System.Buffers;

namespace AllReduceNet.Collectives;

/// <summary>
/// What a transport implements: one rank's end of a group that moves bytes. The <see cref="Communicator"/> facade
/// does everything else (argument checks, numbering and signing collective calls, choosing and running algorithms,
/// splitting); algorithms reach the transport only through the primitives of <see cref="CollectiveCall"/>.
/// <para>
/// Required: rank, size, name, post send, post receive (each returns a <see cref="Request"/>, which is how a
/// request is waited for by deadline and cancelled), create a group from a member list, dispose. The rest are
/// capabilities with defaults: a transport that can reduce straight from the sender's memory, share buffers,
/// or run its library's own AllReduce says so; one that cannot inherits "receive into scratch, then reduce".
/// </para>
/// </summary>
internal unsafe interface ITransport : IDisposable
{
    /// <summary>This rank's index in the group.</summary>
    int Rank { get; }

    /// <summary>The number of ranks in the group.</summary>
    int Size { get; }

    /// <summary>The transport's name, e.g. "in-process" or "mpi (MPICH, shared memory)".</summary>
    string Name { get; }

    /// <summary>The timeout of waits that name none; kept here so the transport's requests can tell it to <see cref="Request.Wait()"/>.</summary>
    TimeSpan DefaultTimeout { get; set; }

    /// <summary>
    /// Posts a send of <paramref name="bytes"/> bytes at <paramref name="data"/>, which stays valid until completion;
    /// <paramref name="pin"/> is released then. <paramref name="collectiveCount"/> is, for collectives, the element
    /// count this rank passed (for mismatch messages), -1 otherwise. Never blocks.
    /// </summary>
    Request PostSend(void* data, long bytes, int destination, int tag, MessageChannel channel, MemoryHandle pin, long collectiveCount);

    /// <summary>Posts a receive of at most <paramref name="capacity"/> bytes into <paramref name="data"/>. Never blocks.</summary>
    Request PostReceive(void* data, long capacity, int source, int tag, MessageChannel channel, MemoryHandle pin);

    /// <summary>
    /// Collective over this group: every rank calls it with the same <paramref name="groupId"/>, and each member
    /// of a new group with the same <paramref name="members"/> (ranks of this group, in the new group's order);
    /// ranks that join no group pass null and get null.
    /// </summary>
    ITransport? CreateGroup(int[]? members, long groupId);

    // ---- capabilities, with the defaults of a transport that has none ----------------------------------------

    /// <summary>
    /// Posts a collective receive whose payload is reduced into <paramref name="target"/> (target = target op payload)
    /// straight from the sender's memory; null when the transport cannot (the primitives then receive into scratch
    /// and reduce). A message of another length or signature than <paramref name="tag"/> is not reduced.
    /// </summary>
    Request? PostReceiveReduce(void* target, long bytes, int source, int tag, delegate*<void*, void*, long, void> reduce) => null;

    /// <summary>True when <see cref="PostReceiveReduce"/> is supported.</summary>
    bool ReducesOnReceive => false;

    /// <summary>
    /// Posts a point-to-point receive (user channel, exact <paramref name="source"/> and <paramref name="tag"/>) of
    /// <paramref name="bytes"/> bytes that lends the receiver the sender's buffer once matched (<see cref="IReceiveLoan"/>):
    /// the sender's send completes when the receiver returns it. Null when the transport cannot
    /// (<see cref="LendsUserSends"/> false).
    /// </summary>
    IReceiveLoan? PostUserReceiveLoan(long bytes, int source, int tag) => null;

    /// <summary>
    /// Posts a point-to-point send whose buffer a lending receive (<see cref="PostUserReceiveLoan"/>) may read and write
    /// until it returns the loan; never copied aside, so the send completes only when matched (and, when lent, returned).
    /// Null where the transport does not lend.
    /// </summary>
    Request? PostUserSendLent(void* data, long bytes, int destination, int tag, System.Buffers.MemoryHandle pin) => null;

    /// <summary>True when <see cref="PostUserReceiveLoan"/> is supported.</summary>
    bool LendsUserSends => false;

    /// <summary>The board through which ranks read each other's buffers (the "direct" capability); null where they cannot.</summary>
    IPeerBuffers? PeerBuffers => null;

    /// <summary>The transport's own collectives (the MPI library's), or null.</summary>
    INativeCollectives? Native => null;

    /// <summary>
    /// Which node each rank of the group runs on, indexed by rank: node numbers 0, 1, ... in the order of each node's
    /// lowest rank, the same array on every rank. Null when all ranks share one node (or the transport cannot tell).
    /// </summary>
    int[]? NodeOfRank => null;

    /// <summary>The segment (pipelining unit) this transport was measured fastest with.</summary>
    int DefaultSegmentBytes => 1 << 20;

    /// <summary>Hands a completed collective request back for reuse; transports that do not pool ignore it.</summary>
    void Recycle(Request? request) { }

    /// <summary>Called as this rank enters collective number <paramref name="callNumber"/>.</summary>
    void OnCollectiveEntered(long callNumber) { }

    /// <summary>
    /// Copies the statuses (source, tag, bytes) of collective messages that arrived with no receive posted for them,
    /// oldest first, up to <paramref name="into"/>'s length; returns how many. Lets a collective that waits see a
    /// message of another collective that its peer sent it, where the two would otherwise wait for each other
    /// forever. Default: none known.
    /// </summary>
    int UnexpectedCollectiveMessages(Span<MessageStatus> into) => 0;

    /// <summary>
    /// Whether a rank that disposes its communicator tells the peers (a failure notice for the call it will not make),
    /// so that one still waiting for it is released. In-process a rank can return while the others go on; under MPI
    /// freeing a communicator is collective (MPI_Comm_free), and notices nobody receives would linger to MPI_Finalize.
    /// </summary>
    bool NotifiesPeersOnDispose => false;

    /// <summary>Which ranks never reached call <paramref name="callNumber"/>, where the transport can tell; else null.</summary>
    string? DescribeStragglers(long callNumber) => null;
}
