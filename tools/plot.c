/* SVG line plots. Layout and tick rules in plot.h. */
#include "plot.h"

#include <math.h>
#include <string.h>

#define W 760.0
#define H 460.0
#define LEFT 90.0
#define RIGHT 200.0 /* room for the legend */
#define TOP 50.0
#define BOTTOM 70.0
#define MAX_TICKS 100 /* per axis; a nice step gives about 5-10 */

/* Colour-blind safe (Okabe-Ito), then repeated with dashes. */
static const char *const colours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000", "#F0E442"};

static void xml_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* A "nice" step (1, 2 or 5 times a power of ten) giving about `target`
 * intervals over span. */
static double nice_step(double span, int target)
{
    if (span <= 0)
        return 1;
    double raw = span / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void fmt_num(char *buf, size_t len, double v)
{
    double a = fabs(v);
    if (a == 0)
        snprintf(buf, len, "0");
    else if (a >= 1e6 || a < 1e-3)
        snprintf(buf, len, "%.3g", v);
    else if (v == floor(v))
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.4g", v);
}

int plot_write_svg(FILE *out, const plot_spec *spec)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = 0, ymax = -INFINITY;
    for (size_t s = 0; s < spec->n_series; s++) {
        for (size_t i = 0; i < spec->series[s].n; i++) {
            double x = spec->series[s].x[i], y = spec->series[s].y[i];
            if (spec->log2_x)
                x = log2(x);
            xmin = fmin(xmin, x);
            xmax = fmax(xmax, x);
            ymin = fmin(ymin, y);
            ymax = fmax(ymax, y);
        }
    }
    if (!isfinite(xmin)) {
        xmin = 0;
        xmax = 1;
    }
    if (spec->x_categories) {
        xmin = -0.5;
        xmax = (double)spec->n_categories - 0.5;
    }
    if (xmax == xmin) {
        xmin -= 1;
        xmax += 1;
    }
    if (!isfinite(ymax) || ymax <= ymin)
        ymax = ymin + 1;
    double ystep = nice_step(ymax - ymin, 5);
    ymin = floor(ymin / ystep) * ystep;
    ymax = ceil(ymax / ystep) * ystep;
    double pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
#define PX(x) (LEFT + ((x) - xmin) / (xmax - xmin) * pw)
#define PY(y) (TOP + ph - ((y) - ymin) / (ymax - ymin) * ph)

    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                 "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
                 "font-size=\"13\">\n",
            W, H, W, H);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", W, H);
    fprintf(out, "<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">",
            LEFT + pw / 2);
    xml_text(out, spec->title);
    fputs("</text>\n", out);

    /* y grid and ticks */
    fputs("<g class=\"y-axis\">\n", out);
    /* ticks by index, at most MAX_TICKS: a step below the precision of
     * large values would otherwise never move y */
    double prev = NAN;
    for (int i = 0; i < MAX_TICKS && ymin + i * ystep <= ymax + ystep / 2; i++) {
        double y = ymin + i * ystep;
        if (y == prev)
            break;
        prev = y;
        char b[32];
        fmt_num(b, sizeof b, fabs(y) < ystep * 1e-9 ? 0 : y);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                LEFT, PY(y), LEFT + pw, PY(y), LEFT - 8, PY(y) + 4, b);
    }
    fputs("</g>\n<g class=\"x-axis\">\n", out);
    /* x ticks: categories, powers of two, or nice steps */
    if (spec->x_categories) {
        for (size_t i = 0; i < spec->n_categories; i++) {
            fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>",
                    PX((double)i), TOP + ph, PX((double)i), TOP + ph + 5);
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", PX((double)i), TOP + ph + 20);
            xml_text(out, spec->x_categories[i]);
            fputs("</text>\n", out);
        }
    } else if (spec->n_x_ticks) {
        for (size_t i = 0; i < spec->n_x_ticks; i++) {
            char b[32];
            double x = spec->log2_x ? log2(spec->x_ticks[i]) : spec->x_ticks[i];
            fmt_num(b, sizeof b, spec->x_ticks[i]);
            fprintf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                    PX(x), TOP + ph, PX(x), TOP + ph + 5, PX(x), TOP + ph + 20, b);
        }
    } else {
        double step = spec->log2_x ? fmax(1, round(nice_step(xmax - xmin, 8))) : nice_step(xmax - xmin, 8);
        double x0 = ceil(xmin / step - 1e-9) * step;
        prev = NAN;
        for (int i = 0; i < MAX_TICKS && x0 + i * step <= xmax + step * 1e-9; i++) {
            double x = x0 + i * step;
            if (x == prev)
                break;
            prev = x;
            char b[32];
            fmt_num(b, sizeof b, spec->log2_x ? exp2(x) : (fabs(x) < step * 1e-9 ? 0 : x));
            fprintf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                    PX(x), TOP + ph, PX(x), TOP + ph + 5, PX(x), TOP + ph + 20, b);
        }
    }
    fputs("</g>\n", out);
    /* axes and their labels */
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n"
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n",
            LEFT, TOP, LEFT, TOP + ph, LEFT, TOP + ph, LEFT + pw, TOP + ph);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", LEFT + pw / 2, H - 22);
    xml_text(out, spec->x_label);
    if (spec->log2_x)
        fputs(" (log scale)", out);
    fputs("</text>\n", out);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">", 22.0,
            TOP + ph / 2, 22.0, TOP + ph / 2);
    xml_text(out, spec->y_label);
    fputs("</text>\n", out);

    /* the data */
    for (size_t s = 0; s < spec->n_series; s++) {
        const plot_series *ps = &spec->series[s];
        const char *c = colours[s % (sizeof colours / sizeof *colours)];
        const char *dash = s >= sizeof colours / sizeof *colours ? " stroke-dasharray=\"6 3\"" : "";
        fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", c, dash);
        for (size_t i = 0; i < ps->n; i++) {
            double x = spec->log2_x ? log2(ps->x[i]) : ps->x[i];
            fprintf(out, "%s%.1f,%.1f", i ? " " : "", PX(x), PY(ps->y[i]));
        }
        fputs("\"/>\n", out);
        for (size_t i = 0; i < ps->n; i++) {
            double x = spec->log2_x ? log2(ps->x[i]) : ps->x[i];
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", PX(x), PY(ps->y[i]), c);
        }
        /* legend entry */
        double ly = TOP + 10 + 22.0 * (double)s;
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>"
                "<text x=\"%.1f\" y=\"%.1f\">",
                LEFT + pw + 20, ly, LEFT + pw + 48, ly, c, dash, LEFT + pw + 56, ly + 4);
        xml_text(out, ps->label);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n", out);
#undef PX
#undef PY
    return ferror(out) ? -1 : 0;
}
