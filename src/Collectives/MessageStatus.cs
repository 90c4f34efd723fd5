using System.Runtime.CompilerServices;

namespace AllReduceNet.Collectives;

/// <summary>What a completed receive got: who sent it, with which tag, and how many bytes.</summary>
/// <param name="Source">The sending rank.</param>
/// <param name="Tag">The tag the sender used.</param>
/// <param name="ByteCount">The number of bytes received.</param>
public readonly record struct MessageStatus(int Source, int Tag, long ByteCount)
{
    /// <summary>The number of whole elements of type <typeparamref name="T"/> received.</summary>
    public long Count<T>() where T : unmanaged => ByteCount / Unsafe.SizeOf<T>();
}
