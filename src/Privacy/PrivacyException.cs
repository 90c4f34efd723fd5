namespace AllReduceNet.Privacy;

/// <summary>
/// A privacy protocol could not go on: a setting that would overflow the modulus, a malformed message from a named
/// client, too few survivors for the threshold. The message says which.
/// </summary>
public class PrivacyException : Exception
{
    /// <summary>Creates the exception with a message that names what was wrong.</summary>
    public PrivacyException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error underneath.</summary>
    public PrivacyException(string message, Exception inner) : base(message, inner) { }
}
