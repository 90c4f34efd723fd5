namespace AllReduceNet.Training.Tests;

/// <summary>
/// Tests that take network links down run alone, after the parallel ones: an MPICH job starting meanwhile in another
/// test class fails in UCX's device scan ("init_worker ... No such device"), as GossipTests did once in CI.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LinkChangingCollection
{
    public const string Name = "changes network links";
}
