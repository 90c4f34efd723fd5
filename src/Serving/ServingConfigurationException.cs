namespace AllReduceNet.Serving;

/// <summary>The command line or the model repository cannot be served; the message says what to fix.</summary>
public sealed class ServingConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, in words a user can act on.</param>
    public ServingConfigurationException(string message) : base(message) { }
}
