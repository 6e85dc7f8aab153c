using IpsecExporter.Configuration;

namespace IpsecExporter.Sources.Http;

/// <summary>
/// A secret named by a file (<c>NAME_file</c>) or an environment variable (<c>NAME_env</c>), never the value itself.
/// Read on every use, so a rotated file takes effect without a reload. <see cref="ToString"/> names where the secret
/// lives, never what it is, so the reference is safe in logs and exception messages.
/// </summary>
public sealed record SecretReference(string Setting, string? File, string? Environment)
{
    /// <summary>Reads <c>{name}_file</c> / <c>{name}_env</c> of <paramref name="map"/>; exactly one when required, at most one otherwise.</summary>
    internal static SecretReference? Parse(YamlMap map, string name, ConfigErrors errors, bool required)
    {
        var fileKey = $"{name}_file";
        var envKey = $"{name}_env";
        var file = map.String(fileKey);
        var environment = map.String(envKey);
        if (file is not null && environment is not null)
        {
            errors.Add(map.ValueNode(envKey)!, $"{map.Child(envKey)}: set either {fileKey} or {envKey}, not both");
            return null;
        }

        if (file is null && environment is null)
        {
            if (required)
            {
                errors.Add(map.Node, $"{map.Path}: missing required key '{fileKey}' or '{envKey}' (secrets are read from a file or an environment variable)");
            }

            return null;
        }

        return new SecretReference(name, file, environment);
    }

    /// <summary>The secret, trimmed of surrounding whitespace (files usually end with a newline).</summary>
    /// <exception cref="IOException">The file cannot be read, or the variable is unset or empty; the message never holds the value.</exception>
    public string Read()
    {
        string? value;
        try
        {
            value = File is not null ? System.IO.File.ReadAllText(File) : System.Environment.GetEnvironmentVariable(Environment!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot read the {Setting} from {this}: {e.GetType().Name}", e);
        }

        value = value?.Trim();
        return string.IsNullOrEmpty(value) ? throw new IOException($"the {Setting} from {this} is empty") : value;
    }

    public override string ToString() => File is not null ? $"file {File}" : $"environment variable {Environment}";
}
