using System.Buffers;
using System.Runtime.InteropServices;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// Memory that claims <c>length</c> elements but is backed by one small native block: enough to test that a send
/// larger than one MPI message can carry is refused before any byte is touched, without allocating gigabytes.
/// Counts pins and unpins, so the test can check that the refused send released its pin.
/// </summary>
internal sealed unsafe class UnbackedMemory<T>(int length) : MemoryManager<T> where T : unmanaged
{
    private readonly void* _block = NativeMemory.AllocZeroed(64);

    public int Pins { get; private set; }

    public int Unpins { get; private set; }

    public override Span<T> GetSpan() => throw new InvalidOperationException("unbacked memory has no span: only Pin is allowed");

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        Pins++;
        return new MemoryHandle(_block, default, this);
    }

    public override void Unpin() => Unpins++;

    public override Memory<T> Memory => CreateMemory(length);

    protected override void Dispose(bool disposing) => NativeMemory.Free(_block);
}
