namespace Herald.Proxy.Config;

/// <summary>
/// A configuration Herald refuses: names the field by its path in the Envoy resource
/// (for example <c>static_resources.clusters[0].lb_policy</c>) and says how to fix it.
/// </summary>
internal sealed class ConfigException : Exception
{
    public ConfigException(string fieldPath, string problem, string fix)
        : base($"{fieldPath}: {problem}. {fix}")
    {
        FieldPath = fieldPath;
        Problem = problem;
        Fix = fix;
    }

    public ConfigException()
    {
        FieldPath = string.Empty;
        Problem = string.Empty;
        Fix = string.Empty;
    }

    public ConfigException(string message)
        : base(message)
    {
        FieldPath = string.Empty;
        Problem = message;
        Fix = string.Empty;
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        FieldPath = string.Empty;
        Problem = message;
        Fix = string.Empty;
    }

    public string FieldPath { get; }

    public string Problem { get; }

    public string Fix { get; }
}
