namespace AllReduceNet.Training.Federated;

/// <summary>
/// Validated --aggregator, --attack/--malicious and --secure-groups of a federated run (docs/robust-aggregation.md).
/// </summary>
/// <param name="Rule">The aggregation rule; null: the plain weighted mean (the original sum path, bitwise unchanged).</param>
/// <param name="Attack">The simulated attack, or null.</param>
/// <param name="SecureGroups">G: secure aggregation inside random groups of G clients, the rule over the group means; null without.</param>
internal sealed record RobustSettings(IRobustRule? Rule, AttackSpec? Attack, int? SecureGroups)
{
    /// <summary>How the log's strategy description names these settings.</summary>
    public string Describe() => string.Join(", ", new[]
    {
        Rule is null ? null : $"aggregator {Rule.Name}",
        SecureGroups is int g ? $"secure groups of {g}" : null,
        Attack is null ? null : $"attack {Attack}",
    }.Where(s => s is not null));
}
