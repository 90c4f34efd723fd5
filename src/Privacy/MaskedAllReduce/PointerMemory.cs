using System.Buffers;

namespace AllReduceNet.Privacy;

/// <summary>
/// Memory over a pointer the caller keeps pinned (a span inside a <c>fixed</c> block), so that a span can be given to
/// the communicator's non-blocking <see cref="AllReduceNet.Collectives.Communicator.Isend{T}"/> and
/// <see cref="AllReduceNet.Collectives.Communicator.Irecv{T}"/>. Pinning it again is free: it never moves.
/// The owner must finish every request on it before the <c>fixed</c> block ends.
/// </summary>
internal sealed unsafe class PointerMemory<T> : MemoryManager<T> where T : unmanaged
{
    private readonly T* _pointer;
    private readonly int _length;

    public PointerMemory(T* pointer, int length)
    {
        _pointer = pointer;
        _length = length;
    }

    public override Span<T> GetSpan() => new(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }
}
