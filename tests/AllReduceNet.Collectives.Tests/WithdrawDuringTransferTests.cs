using System.Runtime.InteropServices;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// A rank that gives up on a transfer (a failed collective withdrawing its requests) must not get its buffer back while
/// a peer's thread is still copying into it: the caller frees or unpins that memory next. The in-process transport
/// runs a matched transfer on whichever thread arrived second, so the withdrawal has to wait for it. Before it did,
/// a late copy wrote into freed scratch memory (glibc's MALLOC_CHECK_ aborted MismatchReleaseTests' test host).
/// </summary>
public unsafe class WithdrawDuringTransferTests
{
    private static readonly ManualResetEventSlim CopyStarted = new();
    private static volatile bool _copyFinished;

    /// <summary>A reduction slow enough that the receiver withdraws while it runs on the sender's thread.</summary>
    private static void SlowCopy(void* target, void* source, long bytes)
    {
        CopyStarted.Set();
        Thread.Sleep(300);
        Buffer.MemoryCopy(source, target, bytes, bytes);
        _copyFinished = true;
    }

    [Fact]
    public void WithdrawingAReceiveThatAPeerIsCopyingIntoReturnsOnlyAfterTheCopy()
    {
        CopyStarted.Reset();
        _copyFinished = false;
        var communicators = InProcessWorld.CreateCommunicators(2);
        var receiver = (InProcessTransport)communicators[0].Transport;
        var sender = (InProcessTransport)communicators[1].Transport;
        const int bytes = 4096;
        byte* target = (byte*)NativeMemory.AllocZeroed(bytes);
        byte* source = (byte*)NativeMemory.Alloc(bytes);
        new Span<byte>(source, bytes).Fill(7);
        try
        {
            // A collective's receive-reduce (the ring's): posted first, so the send matches it at once and runs
            // SlowCopy on the sender's thread.
            var receive = receiver.PostReceiveReduce(target, bytes, source: 1, tag: 3, &SlowCopy)!;
            var sending = new Thread(() => sender.PostSend(source, bytes, destination: 0, tag: 3, MessageChannel.Collective, default, -1));
            sending.Start();
            Assert.True(CopyStarted.Wait(TimeSpan.FromSeconds(20)), "the sender never started copying");

            bool withdrawn = receive.TryCancel();

            Assert.False(withdrawn);                   // it had matched: too late to take back
            Assert.True(_copyFinished, "TryCancel returned while the peer was still copying into the receive's buffer");
            Assert.True(receive.IsCompleted);
            Assert.True(new ReadOnlySpan<byte>(target, bytes).IndexOfAnyExcept((byte)7) < 0);
            Assert.True(sending.Join(TimeSpan.FromSeconds(20)));
        }
        finally
        {
            NativeMemory.Free(target);
            NativeMemory.Free(source);
            foreach (var communicator in communicators) communicator.Dispose();
        }
    }

    [Fact]
    public void WithdrawingAReceiveNoPeerHasMatchedTakesItBackAtOnce()
    {
        var communicators = InProcessWorld.CreateCommunicators(2);
        var receiver = (InProcessTransport)communicators[0].Transport;
        byte* target = (byte*)NativeMemory.AllocZeroed(64);
        try
        {
            var receive = receiver.PostReceive(target, 64, source: 1, tag: 4, MessageChannel.User, default);

            Assert.True(receive.TryCancel());
            Assert.True(receive.IsCompleted);
            var error = Assert.Throws<OperationCanceledException>(receive.ThrowIfFailed);
            Assert.Contains("rank 0: receive of up to 64 bytes from rank 1", error.Message);
        }
        finally
        {
            NativeMemory.Free(target);
            foreach (var communicator in communicators) communicator.Dispose();
        }
    }
}
