using AllReduceNet.Collectives;

namespace AllReduceNet.Privacy;

/// <summary>A started <see cref="MaskedAllReduce.StartSum"/>: wait on it, and the dequantized sum is in the caller's vector.</summary>
public sealed class MaskedSumHandle
{
    private readonly MaskedAllReduce _owner;
    private readonly CollectiveHandle _inner;
    private readonly int[] _buffer;
    private readonly Memory<float> _data;
    private bool _done;

    internal MaskedSumHandle(MaskedAllReduce owner, CollectiveHandle inner, int[] buffer, Memory<float> data)
    {
        _owner = owner;
        _inner = inner;
        _buffer = buffer;
        _data = data;
    }

    /// <summary>True once the integer AllReduce has finished (the sum is written by <see cref="Wait()"/>).</summary>
    public bool IsCompleted => _inner.IsCompleted;

    /// <summary>Waits for the integer AllReduce (within the collective's timeout) and writes the dequantized sum. Idempotent.</summary>
    /// <exception cref="CommunicationTimeoutException">The AllReduce did not finish in time.</exception>
    /// <exception cref="CollectiveException">The AllReduce failed; its error is inside.</exception>
    public void Wait()
    {
        if (_done) return;
        _inner.Wait();
        Finish();
    }

    /// <summary>As <see cref="Wait()"/>, with a timeout of its own.</summary>
    /// <param name="timeout">How long to wait at most.</param>
    public void Wait(TimeSpan timeout)
    {
        if (_done) return;
        _inner.Wait(timeout);
        Finish();
    }

    private void Finish()
    {
        _owner.Dequantize(_buffer.AsSpan(0, _data.Length), _data.Span);
        _owner.Release(_buffer);
        _done = true;
    }
}
