using System.Diagnostics.CodeAnalysis;

namespace AllReduceNet.Collectives;

/// <summary>One place for argument checks, so every message names the argument, its value and the rank.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ArgumentOutOfRange(string name, object? value, string why) =>
        throw new ArgumentOutOfRangeException(name, value, why);

    [DoesNotReturn]
    public static void Argument(string name, string message) => throw new ArgumentException(message, name);

    public static void CheckRank(int rank, int size, string name, int callerRank)
    {
        if ((uint)rank >= (uint)size)
            ArgumentOutOfRange(name, rank, $"rank {callerRank}: {name} must be in [0, {size}) for a communicator of size {size}, but was {rank}.");
    }

    public static void CheckPeer(int peer, int size, string name, int callerRank, bool allowAny)
    {
        if (allowAny && peer == Communicator.AnySource) return;
        CheckRank(peer, size, name, callerRank);
    }

    public static void CheckTag(int tag, string name, int callerRank, bool allowAny)
    {
        if (allowAny && tag == Communicator.AnyTag) return;
        if ((uint)tag > Communicator.MaxTag)
            ArgumentOutOfRange(name, tag, $"rank {callerRank}: {name} must be in [0, {Communicator.MaxTag}]{(allowAny ? " or AnyTag" : "")}, but was {tag}.");
    }

    public static void CheckLength(long actual, long required, string name, int callerRank, string what)
    {
        if (actual < required)
            Argument(name, $"rank {callerRank}: {name} holds {actual} elements but {what} needs at least {required}.");
    }

    public static void CheckTimeout(TimeSpan timeout, string name)
    {
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            ArgumentOutOfRange(name, timeout, $"{name} must be positive, but was {timeout}.");
    }
}
