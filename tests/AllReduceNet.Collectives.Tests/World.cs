using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

/// <summary>Runs a body on an in-process world with a timeout short enough that a hang fails the test quickly.</summary>
public static class World
{
    public static readonly InProcessWorldOptions Options = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static T[] Run<T>(int ranks, Func<Communicator, T> body) => InProcessWorld.Run(ranks, body, Options);

    public static void Run(int ranks, Action<Communicator> body) => InProcessWorld.Run(ranks, body, Options);
}
