/// Renderings of analysis results (the Kaplan-Meier plot as SVG). Pure: values in, text out.
public enum Reports {}
