namespace Herald.Iptables;

/// <summary>Applying or removing the rules failed; the message says which command and why.</summary>
public sealed class InterceptionException : Exception
{
    public InterceptionException()
    {
    }

    public InterceptionException(string message)
        : base(message)
    {
    }

    public InterceptionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
