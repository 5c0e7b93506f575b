/*
 * breaks.c - sup-F (Andrews 1993) with Hansen (1997) p-values, CUSUM of
 * recursive residuals (Brown, Durbin & Evans 1975), and the expanding-window
 * least squares both rest on.  Definitions, degrees of freedom and sources
 * are in breaks.h.
 *
 * Engine: an upper-triangular R (k x k), z = Q'y (k) and the running SSR,
 * updated one row at a time with Givens rotations (Golub & Van Loan,
 * "Matrix Computations", 4th ed., section 6.5.3, adding a row to a QR
 * factorisation).  Adding row (z_t, y_t) rotates z_t into R column by column;
 * what is left of y_t after the k rotations, e_t, satisfies
 * SSR_t = SSR_{t-1} + e_t^2, and with R's diagonal kept non-negative e_t is
 * exactly the recursive residual w_t.  Each row costs O(k^2), so
 *   - the SSR of every prefix [0, tau) comes from one forward sweep and of
 *     every suffix [tau, m) from one backward sweep: the whole Chow path is
 *     O(m k^2) instead of O(m^2 k^2) for a refit per candidate (statsmodels,
 *     strucchange);
 *   - one-step predictions (forecast.c) are a back-substitution R b = z
 *     before each row is added.
 * Givens updating is orthogonal, so it keeps QR's accuracy (no normal
 * equations, no squared condition number), and unlike Sherman-Morrison
 * updates of (X'X)^-1 (statsmodels recursive_olsresiduals) its error does
 * not accumulate with t.  GSL has no row-append QR update
 * (gsl_linalg_QR_update is a rank-one update of the whole matrix), hence the
 * twenty lines below.
 *
 * Rank: a column is collinear with the ones before it when |R_jj| falls below
 * LW_BREAKS_RANK_TOL times the column's Euclidean norm over the rows so far
 * (unpivoted QR: R_jj is the distance of column j from the span of columns
 * 0..j-1).  Adding rows can only raise the rank, so checking the shortest
 * admissible segment at each end is enough.
 *
 * Hansen's table: the (b0, b1, v) triples below are his published response
 * surface for the sup-Wald statistic (Hansen 1997, computed by simulation of
 * the limiting Bessel-process functional; distributed as his pv_sup program
 * and as strucchange's sc.beta.sup), rows tau0 = 0.49, 0.47, ..., 0.01 for
 * k = 1..10.  tests/test_breaks.c checks the transcription against a second
 * published source: at the Bai & Perron (2003, Econometrics Journal 6, 72-78)
 * 5% critical values of sup F(1|0) for trimming 0.05..0.25 and k = 1..10 the
 * p-value is 0.05 to within simulation error.
 */
#include "leadwatch/stats/breaks.h"

#include "leadwatch/stats/ols.h"

#include <float.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hansen (1997) sup-Wald response surface: HANSEN_SUP[(k-1)*25 + i] holds
 * (b0, b1, v) for tau0 = 0.49 - 0.02 i; p = P(chi2_v > b0 + b1 * stat). */
static const double HANSEN_SUP[LW_BREAKS_HANSEN_MAX_K * 25][3] = {
    /* k = 1 */
    {-0.0648467, 0.99671156, 1.2573241},   /* tau = 0.49 */
    {-0.15305667, 0.96757645, 1.43651315}, /* tau = 0.47 */
    {-0.23071675, 0.95825013, 1.56531261}, /* tau = 0.45 */
    {-0.29247661, 0.95715782, 1.68851898}, /* tau = 0.43 */
    {-0.35706588, 0.95237505, 1.77889686}, /* tau = 0.41 */
    {-0.40514715, 0.96055795, 1.89761322}, /* tau = 0.39 */
    {-0.45248386, 0.95810999, 1.98370422}, /* tau = 0.37 */
    {-0.50458517, 0.96149538, 2.07086519}, /* tau = 0.35 */
    {-0.55009159, 0.96684273, 2.17244338}, /* tau = 0.33 */
    {-0.60241623, 0.96518399, 2.23509053}, /* tau = 0.31 */
    {-0.64308746, 0.97354902, 2.33722161}, /* tau = 0.29 */
    {-0.68833676, 0.97829106, 2.42776524}, /* tau = 0.27 */
    {-0.73136161, 0.9820687, 2.50833918},  /* tau = 0.25 */
    {-0.78078198, 0.99475319, 2.6209551},  /* tau = 0.23 */
    {-0.82894221, 1.00023473, 2.70286643}, /* tau = 0.21 */
    {-0.88430133, 1.00162529, 2.77835798}, /* tau = 0.19 */
    {-0.9499265, 1.00384268, 2.84325795},  /* tau = 0.17 */
    {-0.98828874, 1.01604712, 2.96752918}, /* tau = 0.15 */
    {-1.04892713, 1.02570939, 3.08442682}, /* tau = 0.13 */
    {-1.11527783, 1.03526033, 3.19770394}, /* tau = 0.11 */
    {-1.14992644, 1.06643436, 3.44739573}, /* tau = 0.09 */
    {-1.24010871, 1.06929468, 3.54993605}, /* tau = 0.07 */
    {-1.38522113, 1.06808543, 3.61667211}, /* tau = 0.05 */
    {-1.48296473, 1.1283969, 4.07202473},  /* tau = 0.03 */
    {-1.78738608, 1.17220925, 4.4726701},  /* tau = 0.01 */
    /* k = 2 */
    {-0.03933112, 0.99525784, 2.44239332}, /* tau = 0.49 */
    {-0.14650989, 0.9938654, 2.78837829},  /* tau = 0.47 */
    {-0.28765583, 0.98139359, 2.93724618}, /* tau = 0.45 */
    {-0.35528752, 0.9942739, 3.18187129},  /* tau = 0.43 */
    {-0.49538961, 0.96923268, 3.19484388}, /* tau = 0.41 */
    {-0.58780544, 0.97339124, 3.32763253}, /* tau = 0.39 */
    {-0.66900489, 0.97444133, 3.44170617}, /* tau = 0.37 */
    {-0.77825803, 0.96678414, 3.48652761}, /* tau = 0.35 */
    {-0.87260977, 0.97626434, 3.61709836}, /* tau = 0.33 */
    {-0.96782445, 0.97636983, 3.6779502},  /* tau = 0.31 */
    {-1.07358977, 0.97407744, 3.71945379}, /* tau = 0.29 */
    {-1.12531079, 0.99897105, 3.95114475}, /* tau = 0.27 */
    {-1.16041007, 1.01629918, 4.14932643}, /* tau = 0.25 */
    {-1.2975797, 1.015268, 4.17103882},    /* tau = 0.23 */
    {-1.36743697, 1.03004743, 4.3223804},  /* tau = 0.21 */
    {-1.43012785, 1.05139461, 4.53836755}, /* tau = 0.19 */
    {-1.53311747, 1.05280599, 4.61175851}, /* tau = 0.17 */
    {-1.65273586, 1.05932633, 4.69340428}, /* tau = 0.15 */
    {-1.79350728, 1.04936541, 4.68380985}, /* tau = 0.13 */
    {-1.9117747, 1.0588459, 4.8073354},    /* tau = 0.11 */
    {-2.02659329, 1.07200268, 4.97772701}, /* tau = 0.09 */
    {-2.18499383, 1.08674781, 5.14231666}, /* tau = 0.07 */
    {-2.3765858, 1.11342895, 5.40268693},  /* tau = 0.05 */
    {-2.51267262, 1.15305027, 5.88573096}, /* tau = 0.03 */
    {-3.05559851, 1.17629253, 6.11067794}, /* tau = 0.01 */
    /* k = 3 */
    {-0.1250856, 0.98151496, 3.43036267},  /* tau = 0.49 */
    {-0.27323021, 0.98324873, 3.83943122}, /* tau = 0.47 */
    {-0.43148524, 0.98336371, 4.07662685}, /* tau = 0.45 */
    {-0.48172245, 1.00450689, 4.44796533}, /* tau = 0.43 */
    {-0.6898932, 0.99692978, 4.49665381},  /* tau = 0.41 */
    {-0.7928579, 1.00417536, 4.69772537},  /* tau = 0.39 */
    {-0.85066146, 1.01852003, 4.95584784}, /* tau = 0.37 */
    {-1.06133796, 1.00719185, 4.90812703}, /* tau = 0.35 */
    {-1.11977435, 1.03046019, 5.20741484}, /* tau = 0.33 */
    {-1.20203015, 1.03885443, 5.3693925},  /* tau = 0.31 */
    {-1.28736105, 1.04597379, 5.52416853}, /* tau = 0.29 */
    {-1.45874969, 1.03549948, 5.4888527},  /* tau = 0.27 */
    {-1.60889159, 1.03374376, 5.50958245}, /* tau = 0.25 */
    {-1.64346161, 1.06767681, 5.89426861}, /* tau = 0.23 */
    {-1.68334797, 1.09676432, 6.23634969}, /* tau = 0.21 */
    {-1.81974576, 1.10216977, 6.34122715}, /* tau = 0.19 */
    {-2.02648892, 1.0962988, 6.29077373},  /* tau = 0.17 */
    {-2.04820499, 1.13491785, 6.75208304}, /* tau = 0.15 */
    {-2.3230492, 1.12030935, 6.59886028},  /* tau = 0.13 */
    {-2.59516448, 1.09122076, 6.32294425}, /* tau = 0.11 */
    {-2.79776102, 1.09109337, 6.35576003}, /* tau = 0.09 */
    {-3.03865047, 1.09037434, 6.37212114}, /* tau = 0.07 */
    {-3.31299004, 1.10476754, 6.5282289},  /* tau = 0.05 */
    {-3.65667229, 1.13355758, 6.84167661}, /* tau = 0.03 */
    {-4.09174097, 1.21034051, 7.79013953}, /* tau = 0.01 */
    /* k = 4 */
    {-0.40798205, 0.90528031, 3.93318971}, /* tau = 0.49 */
    {-0.58214849, 0.91505724, 4.41094611}, /* tau = 0.47 */
    {-0.67464799, 0.9364688, 4.85980413},  /* tau = 0.45 */
    {-0.85920669, 0.93433918, 5.01958587}, /* tau = 0.43 */
    {-0.99797889, 0.9411933, 5.22477986},  /* tau = 0.41 */
    {-1.10019761, 0.95132377, 5.46557096}, /* tau = 0.39 */
    {-1.24048639, 0.96334287, 5.6723934},  /* tau = 0.37 */
    {-1.44519417, 0.96603109, 5.73132847}, /* tau = 0.35 */
    {-1.43104108, 1.00890357, 6.29613628}, /* tau = 0.33 */
    {-1.52887344, 1.02148881, 6.51227891}, /* tau = 0.31 */
    {-1.66695722, 1.02616925, 6.63448592}, /* tau = 0.29 */
    {-1.79016819, 1.03765517, 6.82686641}, /* tau = 0.27 */
    {-1.91159633, 1.04392701, 6.95318158}, /* tau = 0.25 */
    {-1.93474222, 1.071198, 7.36997641},   /* tau = 0.23 */
    {-1.94039709, 1.10122554, 7.82328663}, /* tau = 0.21 */
    {-2.14388035, 1.09891616, 7.83079173}, /* tau = 0.19 */
    {-2.34856811, 1.10457466, 7.89044965}, /* tau = 0.17 */
    {-2.52186324, 1.10727065, 7.95561422}, /* tau = 0.15 */
    {-2.81381108, 1.10513873, 7.90116455}, /* tau = 0.13 */
    {-3.02543477, 1.12012324, 8.08624226}, /* tau = 0.11 */
    {-3.3338615, 1.12405358, 8.08884313},  /* tau = 0.09 */
    {-3.70012182, 1.12268437, 8.00223819}, /* tau = 0.07 */
    {-4.08017759, 1.14201041, 8.18314656}, /* tau = 0.05 */
    {-4.47426188, 1.17607899, 8.60611855}, /* tau = 0.03 */
    {-5.32601074, 1.21390643, 8.90496643}, /* tau = 0.01 */
    /* k = 5 */
    {-0.11619422, 1.02457601, 5.80252297}, /* tau = 0.49 */
    {-0.46546717, 1.01129094, 6.12710758}, /* tau = 0.47 */
    {-0.74391826, 1.00172704, 6.30619245}, /* tau = 0.45 */
    {-1.02744491, 0.9890919, 6.35729244},  /* tau = 0.43 */
    {-1.26392205, 0.98620432, 6.4591257},  /* tau = 0.41 */
    {-1.42145334, 0.9972466, 6.71491425},  /* tau = 0.39 */
    {-1.65407989, 0.99253425, 6.740473},   /* tau = 0.37 */
    {-1.81536469, 1.0044353, 6.95402735},  /* tau = 0.35 */
    {-2.02334533, 1.00046922, 6.98677984}, /* tau = 0.33 */
    {-2.09938834, 1.01518764, 7.27464455}, /* tau = 0.31 */
    {-2.20567987, 1.02275886, 7.47265174}, /* tau = 0.29 */
    {-2.44943836, 1.02127435, 7.46129265}, /* tau = 0.27 */
    {-2.63257362, 1.01887636, 7.46907351}, /* tau = 0.25 */
    {-2.81161264, 1.02006744, 7.52690766}, /* tau = 0.23 */
    {-2.98179286, 1.0305527, 7.67224919},  /* tau = 0.21 */
    {-3.13342287, 1.0446574, 7.90265755},  /* tau = 0.19 */
    {-3.30649507, 1.05369295, 8.05397638}, /* tau = 0.17 */
    {-3.4646422, 1.06781143, 8.27206632},  /* tau = 0.15 */
    {-3.54117909, 1.10989892, 8.90945304}, /* tau = 0.13 */
    {-3.53272742, 1.15870693, 9.72776829}, /* tau = 0.11 */
    {-3.80907119, 1.17183781, 9.91294592}, /* tau = 0.09 */
    {-4.20676069, 1.17153767, 9.84654688}, /* tau = 0.07 */
    {-4.84259892, 1.14601974, 9.30420469}, /* tau = 0.05 */
    {-5.47685207, 1.15819167, 9.30236461}, /* tau = 0.03 */
    {-6.39138173, 1.17642784, 9.41930982}, /* tau = 0.01 */
    /* k = 6 */
    {-0.0687869, 1.03775792, 7.09045346},   /* tau = 0.49 */
    {-0.33471313, 1.03320405, 7.62520471},  /* tau = 0.47 */
    {-0.58645046, 1.03391895, 7.96566986},  /* tau = 0.45 */
    {-0.84305517, 1.03864019, 8.22807265},  /* tau = 0.43 */
    {-1.17255237, 1.02620388, 8.19864669},  /* tau = 0.41 */
    {-1.46491217, 1.01747206, 8.192869},    /* tau = 0.39 */
    {-1.55238215, 1.02887917, 8.53383279},  /* tau = 0.37 */
    {-1.79236992, 1.02880434, 8.59456107},  /* tau = 0.35 */
    {-1.78127768, 1.06533575, 9.2685801},   /* tau = 0.33 */
    {-2.21251422, 1.04598986, 8.91322396},  /* tau = 0.31 */
    {-2.47288843, 1.04669836, 8.92953537},  /* tau = 0.29 */
    {-2.61217463, 1.05733536, 9.17320934},  /* tau = 0.27 */
    {-2.93562547, 1.04956126, 9.00301305},  /* tau = 0.25 */
    {-3.34428329, 1.03025578, 8.63825734},  /* tau = 0.23 */
    {-3.48448133, 1.04393869, 8.87565157},  /* tau = 0.21 */
    {-3.64732289, 1.05837582, 9.13002628},  /* tau = 0.19 */
    {-3.79479594, 1.07938759, 9.47650111},  /* tau = 0.17 */
    {-4.04745714, 1.08339951, 9.51466537},  /* tau = 0.15 */
    {-4.13484904, 1.11380916, 10.08288929}, /* tau = 0.13 */
    {-4.27469148, 1.13359417, 10.47680321}, /* tau = 0.11 */
    {-4.61491387, 1.14810477, 10.64305003}, /* tau = 0.09 */
    {-4.91271109, 1.18479646, 11.1806159},  /* tau = 0.07 */
    {-5.37456783, 1.1930588, 11.24873153},  /* tau = 0.05 */
    {-6.01333062, 1.22140239, 11.55114952}, /* tau = 0.03 */
    {-7.08021496, 1.25536339, 11.84388128}, /* tau = 0.01 */
    /* k = 7 */
    {-0.53689878, 0.95219603, 7.1028369},   /* tau = 0.49 */
    {-0.58562073, 0.98400121, 8.16310859},  /* tau = 0.47 */
    {-0.95896123, 0.97640322, 8.31297248},  /* tau = 0.45 */
    {-1.31359234, 0.97126847, 8.39458871},  /* tau = 0.43 */
    {-1.55985878, 0.97651275, 8.6116192},   /* tau = 0.41 */
    {-1.74442449, 0.99363695, 8.97007085},  /* tau = 0.39 */
    {-2.0175967, 0.99545856, 9.05632019},   /* tau = 0.37 */
    {-2.20599731, 1.00681619, 9.31295267},  /* tau = 0.35 */
    {-2.25783227, 1.03037828, 9.83449349},  /* tau = 0.33 */
    {-2.53419037, 1.02237747, 9.74010484},  /* tau = 0.31 */
    {-2.83535247, 1.01736263, 9.65255439},  /* tau = 0.29 */
    {-2.94857734, 1.03701081, 10.0582618},  /* tau = 0.27 */
    {-3.23125462, 1.04527054, 10.13194554}, /* tau = 0.25 */
    {-3.35534682, 1.07043687, 10.59763704}, /* tau = 0.23 */
    {-3.46151576, 1.08475765, 10.91888223}, /* tau = 0.21 */
    {-3.87863069, 1.07699402, 10.68834341}, /* tau = 0.19 */
    {-4.23908351, 1.07739268, 10.59992445}, /* tau = 0.17 */
    {-4.4191379, 1.10217153, 11.01503763},  /* tau = 0.15 */
    {-4.82113958, 1.10489462, 10.94912199}, /* tau = 0.13 */
    {-4.95712189, 1.14759912, 11.72034341}, /* tau = 0.11 */
    {-5.33535348, 1.15489501, 11.78096338}, /* tau = 0.09 */
    {-5.94327236, 1.14993703, 11.48022849}, /* tau = 0.07 */
    {-6.2144914, 1.2117616, 12.57656495},   /* tau = 0.05 */
    {-6.95870114, 1.21291275, 12.41746897}, /* tau = 0.03 */
    {-8.48837563, 1.16895303, 11.0568314},  /* tau = 0.01 */
    /* k = 8 */
    {-0.06587378, 1.00259864, 9.00416324},  /* tau = 0.49 */
    {-0.58124366, 0.98811229, 9.29588314},  /* tau = 0.47 */
    {-0.53482076, 1.02737978, 10.38413127}, /* tau = 0.45 */
    {-0.70899479, 1.03875734, 10.86726887}, /* tau = 0.43 */
    {-1.07383099, 1.03945526, 10.98596388}, /* tau = 0.41 */
    {-1.05381577, 1.0784185, 11.87560902},  /* tau = 0.39 */
    {-1.27585106, 1.10005486, 12.3098159},  /* tau = 0.37 */
    {-1.68931537, 1.09777938, 12.24252384}, /* tau = 0.35 */
    {-2.18809932, 1.08874332, 12.00013658}, /* tau = 0.33 */
    {-2.50101866, 1.08718514, 11.97891812}, /* tau = 0.31 */
    {-2.85948167, 1.08365161, 11.88283066}, /* tau = 0.29 */
    {-3.35512723, 1.06078274, 11.38799144}, /* tau = 0.27 */
    {-3.65167655, 1.06322641, 11.38822596}, /* tau = 0.25 */
    {-4.01035186, 1.06373417, 11.32180872}, /* tau = 0.23 */
    {-4.24709439, 1.07465019, 11.50213594}, /* tau = 0.21 */
    {-4.50345226, 1.09341658, 11.80959613}, /* tau = 0.19 */
    {-4.9099655, 1.08551877, 11.57319597},  /* tau = 0.17 */
    {-5.36063931, 1.07646817, 11.25922919}, /* tau = 0.15 */
    {-5.73370206, 1.07605364, 11.18469963}, /* tau = 0.13 */
    {-6.09245707, 1.07280436, 11.07807286}, /* tau = 0.11 */
    {-6.46768896, 1.0801085, 11.14611701},  /* tau = 0.09 */
    {-6.84622409, 1.09621271, 11.40693419}, /* tau = 0.07 */
    {-7.23578885, 1.12575792, 11.92603449}, /* tau = 0.05 */
    {-7.80794405, 1.15036691, 12.32590546}, /* tau = 0.03 */
    {-9.19862689, 1.17118238, 12.18766263}, /* tau = 0.01 */
    /* k = 9 */
    {-0.8377844, 0.93113614, 8.5883869},     /* tau = 0.49 */
    {-1.18727357, 0.93903334, 9.24954183},   /* tau = 0.47 */
    {-1.67892814, 0.93065103, 9.29685978},   /* tau = 0.45 */
    {-2.13655356, 0.92934556, 9.33656379},   /* tau = 0.43 */
    {-2.40733753, 0.94488795, 9.70552238},   /* tau = 0.41 */
    {-2.37013442, 0.97862192, 10.57272004},  /* tau = 0.39 */
    {-2.49480314, 0.99988795, 11.11202863},  /* tau = 0.37 */
    {-2.82625963, 0.99845236, 11.11899557},  /* tau = 0.35 */
    {-3.17119868, 0.99862288, 11.12620845},  /* tau = 0.33 */
    {-3.5636537, 0.99017086, 10.91577546},   /* tau = 0.31 */
    {-3.88321378, 0.9946165, 10.95270011},   /* tau = 0.29 */
    {-4.0313254, 1.01955132, 11.46852117},   /* tau = 0.27 */
    {-4.38155427, 1.01232498, 11.27876602},  /* tau = 0.25 */
    {-4.50039414, 1.03871207, 11.86056231},  /* tau = 0.23 */
    {-4.87091786, 1.03085863, 11.63335876},  /* tau = 0.21 */
    {-5.1383982, 1.03917618, 11.78048327},   /* tau = 0.19 */
    {-5.39812039, 1.05170079, 11.99793995},  /* tau = 0.17 */
    {-5.43335672, 1.10431373, 13.09302596},  /* tau = 0.15 */
    {-6.18441355, 1.06499129, 12.01561699},  /* tau = 0.13 */
    {-6.60044603, 1.07700965, 12.12034223},  /* tau = 0.11 */
    {-7.11669991, 1.0808924, 12.02669094},   /* tau = 0.09 */
    {-7.46755944, 1.09541073, 12.30726854},  /* tau = 0.07 */
    {-8.07312922, 1.1095527, 12.39994474},   /* tau = 0.05 */
    {-8.86841479, 1.11196659, 12.21815495},  /* tau = 0.03 */
    {-10.22371148, 1.13939491, 12.28861527}, /* tau = 0.01 */
    /* k = 10 */
    {-0.12732608, 1.01972827, 11.23288885}, /* tau = 0.49 */
    {-0.77782321, 0.9982764, 11.39255875},  /* tau = 0.47 */
    {-1.24808905, 0.9999548, 11.66130981},  /* tau = 0.45 */
    {-1.76904345, 0.98955787, 11.58597271}, /* tau = 0.43 */
    {-2.09486459, 0.99858018, 11.87831304}, /* tau = 0.41 */
    {-2.30685545, 1.01743721, 12.36966797}, /* tau = 0.39 */
    {-2.70509677, 1.02589592, 12.51217351}, /* tau = 0.37 */
    {-2.92069286, 1.04951504, 13.04128558}, /* tau = 0.35 */
    {-3.1997618, 1.06492822, 13.38535841},  /* tau = 0.33 */
    {-3.6337934, 1.05272485, 13.0950741},   /* tau = 0.31 */
    {-4.01274834, 1.05200434, 13.0322117},  /* tau = 0.29 */
    {-4.50166071, 1.03350523, 12.57591029}, /* tau = 0.27 */
    {-4.97277337, 1.01177319, 12.03313903}, /* tau = 0.25 */
    {-5.21536918, 1.03214392, 12.43310006}, /* tau = 0.23 */
    {-5.65195302, 1.01761463, 12.01632623}, /* tau = 0.21 */
    {-6.06457328, 1.01623184, 11.88077482}, /* tau = 0.19 */
    {-6.0595936, 1.06276209, 12.97932137},  /* tau = 0.17 */
    {-6.46819929, 1.060171, 12.81597962},   /* tau = 0.15 */
    {-6.87347962, 1.06428574, 12.80920657}, /* tau = 0.13 */
    {-7.25454462, 1.07640874, 12.97479282}, /* tau = 0.11 */
    {-7.76257167, 1.07583608, 12.81308974}, /* tau = 0.09 */
    {-8.18205476, 1.09754669, 13.20385908}, /* tau = 0.07 */
    {-8.84260296, 1.10727034, 13.19094338}, /* tau = 0.05 */
    {-9.55384281, 1.13929623, 13.69566019}, /* tau = 0.03 */
    {-11.00985153, 1.1430948, 13.27442097}, /* tau = 0.01 */
};

/* The same response surface for k = 11..40 (strucchange's sc.beta.sup rows),
 * generated by scripts/gen_stats_refs3.R; used by lw_breaks_hansen_p40. */
static const double HANSEN_SUP40[(LW_BREAKS_HANSEN40_MAX_K - LW_BREAKS_HANSEN_MAX_K) * 25][3] = {
#include "breaks_hansen40.inc"
};

/* ------------------------------------------------------------ row updating */

typedef struct {
    size_t k;
    double *R;     /* k x k, upper triangle used */
    double *z;     /* k: Q'y */
    double *colss; /* k: sum of squares of each column so far */
    double *tmp;   /* k: the row being rotated in; also b for predictions */
    double ssr;
    size_t rows;
} givens_t;

static void givens_reset(givens_t *g)
{
    memset(g->R, 0, g->k * g->k * sizeof(double));
    memset(g->z, 0, g->k * sizeof(double));
    memset(g->colss, 0, g->k * sizeof(double));
    g->ssr = 0.0;
    g->rows = 0;
}

/* Carve a givens_t out of `mem` (k^2 + 3k doubles). */
static void givens_init(givens_t *g, size_t k, double *mem)
{
    g->k = k;
    g->R = mem;
    g->z = mem + k * k;
    g->colss = g->z + k;
    g->tmp = g->colss + k;
    givens_reset(g);
}

/* Add row (zr, y); returns the part of y orthogonal to the previous fit. */
static double givens_add(givens_t *g, const double *zr, double y)
{
    const size_t k = g->k;
    double *x = g->tmp;
    memcpy(x, zr, k * sizeof(double));
    for (size_t j = 0; j < k; j++)
        g->colss[j] += zr[j] * zr[j];
    for (size_t j = 0; j < k; j++) {
        const double b = x[j];
        if (b == 0.0)
            continue;
        double *Rj = g->R + j * k;
        const double a = Rj[j];
        /* sqrt, not hypot: 3x faster here, and metric values never come
         * near the 1e154 where a^2 + b^2 would overflow. */
        const double r = sqrt(a * a + b * b);
        const double c = a / r, s = b / r;
        Rj[j] = r;
        for (size_t i = j + 1; i < k; i++) {
            const double ri = Rj[i], xi = x[i];
            Rj[i] = c * ri + s * xi;
            x[i] = c * xi - s * ri;
        }
        const double zj = g->z[j];
        g->z[j] = c * zj + s * y;
        y = c * y - s * zj;
    }
    g->ssr += y * y;
    g->rows++;
    return y;
}

/* k when R has full rank, else the first collinear column. */
static size_t givens_rank_defect(const givens_t *g)
{
    for (size_t j = 0; j < g->k; j++)
        if (!(g->R[j * g->k + j] > LW_BREAKS_RANK_TOL * sqrt(g->colss[j])))
            return j;
    return g->k;
}

/* z_r' b with R b = z (full rank required). */
static double givens_predict(givens_t *g, const double *zr)
{
    const size_t k = g->k;
    double *b = g->tmp;
    for (size_t jj = k; jj-- > 0;) {
        double s = g->z[jj];
        const double *Rj = g->R + jj * k;
        for (size_t i = jj + 1; i < k; i++)
            s -= Rj[i] * b[i];
        b[jj] = s / Rj[jj];
    }
    double p = 0.0;
    for (size_t j = 0; j < k; j++)
        p += zr[j] * b[j];
    return p;
}

/* ------------------------------------------------------------ p-values */

/* Hansen's p for the 25 rows of one k, interpolated in tau0 as pvalue.Fstats. */
static double hansen_interp(const double (*rows)[3], double stat, size_t k, double tau0)
{
    double pp[25];
    for (size_t i = 0; i < 25; i++) {
        const double q = fmax(rows[i][0] + rows[i][1] * stat, 0.0);
        pp[i] = gsl_cdf_chisq_Q(q, rows[i][2]);
    }
    const double chi_k = gsl_cdf_chisq_Q(stat, (double)k);
    double v;
    /* Interpolation rule of strucchange::pvalue.Fstats (tau grid 0.49..0.01). */
    if (fabs(tau0 - 0.5) <= 8.0 * DBL_EPSILON) {
        v = chi_k;
    } else if (tau0 <= 0.01) {
        v = pp[24];
    } else if (tau0 >= 0.49) {
        v = ((0.5 - tau0) * pp[0] + (tau0 - 0.49) * chi_k) * 100.0;
    } else {
        const double taua = (0.51 - tau0) * 50.0;
        size_t t1 = (size_t)floor(taua);
        if (t1 < 1)
            t1 = 1;
        if (t1 > 24)
            t1 = 24;
        v = ((double)t1 + 1.0 - taua) * pp[t1 - 1] + (taua - (double)t1) * pp[t1];
    }
    return fmin(fmax(v, 0.0), 1.0);
}

bool lw_breaks_hansen_p(double stat, size_t k, double tau0, double *p)
{
    if (k < 1 || k > LW_BREAKS_HANSEN_MAX_K || !isfinite(stat) || stat < 0.0 ||
        !(tau0 > 0.0 && tau0 <= 0.5))
        return false;
    *p = hansen_interp(HANSEN_SUP + (k - 1) * 25, stat, k, tau0);
    return true;
}

bool lw_breaks_hansen_p40(double stat, size_t k, double tau0, double *p)
{
    if (k <= LW_BREAKS_HANSEN_MAX_K)
        return lw_breaks_hansen_p(stat, k, tau0, p);
    if (k > LW_BREAKS_HANSEN40_MAX_K || !isfinite(stat) || stat < 0.0 ||
        !(tau0 > 0.0 && tau0 <= 0.5))
        return false;
    *p = hansen_interp(HANSEN_SUP40 + (k - LW_BREAKS_HANSEN_MAX_K - 1) * 25, stat, k, tau0);
    return true;
}

double lw_breaks_bm_crossing_p(double x)
{
    if (!(x >= 0.0))
        return 1.0;
    /* Below 0.3 the series is numerically unreliable; strucchange uses this
     * linear tail, which meets the closed form near x = 0.3. */
    if (x < 0.3)
        return 1.0 - 0.1465 * x;
    const double P = gsl_cdf_ugaussian_P(x);
    const double v = 2.0 * (1.0 - gsl_cdf_ugaussian_P(3.0 * x) +
                            exp(-4.0 * x * x) * (P + gsl_cdf_ugaussian_P(5.0 * x) - 1.0) -
                            exp(-16.0 * x * x) * (1.0 - P));
    return fmin(fmax(v, 0.0), 1.0);
}

/* ------------------------------------------------------------ helpers */

static bool all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* ceil(trim * m) without the 0.15 * 100 = 15.000000000000002 artefact. */
static size_t trim_rows(double trim, size_t m)
{
    return (size_t)ceil(trim * (double)m - 1e-9);
}

/* ------------------------------------------------------------ recursive */

lw_err_t lw_breaks_recursive(const double *y, const double *Z, size_t m, size_t k, size_t first,
                             double *pred, double *w, char *errstr, size_t errstr_size)
{
    if (k == 0 || k > LW_BREAKS_MAX_K || first < k || first >= m || m > LW_BREAKS_MAX_NOBS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "recursive: need 1 <= k <= %u and k <= first < m (k=%zu, first=%zu, "
                         "m=%zu)",
                         LW_BREAKS_MAX_K, k, first, m);
    if (!all_finite(y, m) || !all_finite(Z, m * k))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "recursive: NaN or Inf in the input");
    double *mem = malloc((k * k + 3 * k) * sizeof(double));
    if (!mem)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "recursive: out of memory");
    givens_t g;
    givens_init(&g, k, mem);
    lw_err_t err = LW_OK;
    for (size_t t = 0; t < first; t++) {
        pred[t] = 0.0;
        if (w)
            w[t] = 0.0;
        givens_add(&g, Z + t * k, y[t]);
    }
    const size_t bad = givens_rank_defect(&g);
    if (bad < k) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "recursive: column %zu is constant or collinear over the first %zu rows",
                        bad, first);
        goto free_mem;
    }
    for (size_t t = first; t < m; t++) {
        pred[t] = givens_predict(&g, Z + t * k);
        const double e = givens_add(&g, Z + t * k, y[t]);
        if (w)
            w[t] = e;
    }
free_mem:
    free(mem);
    return err;
}

/* ------------------------------------------------------------ sup-F */

/* Record a failure in res (numbers zeroed) and errstr. */
static lw_err_t supf_fail(lw_breaks_supf_t *res, lw_err_t err, char *errstr, size_t errstr_size)
{
    char reason[LW_BREAKS_REASON_SIZE];
    snprintf(reason, sizeof(reason), "%s", errstr && errstr_size ? errstr : "failed");
    memset(res, 0, sizeof(*res));
    res->status = err;
    snprintf(res->reason, sizeof(res->reason), "%s", reason);
    return err;
}

lw_err_t lw_breaks_supf(const double *y, const double *Z, size_t m, size_t k, double trim,
                        lw_breaks_supf_t *res, double *f_path, char *errstr, size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    if (!errstr || errstr_size == 0) {
        errstr = localerr;
        errstr_size = sizeof(localerr);
    }
    memset(res, 0, sizeof(*res));
    if (k == 0 || k > LW_BREAKS_MAX_K || !(trim > 0.0 && trim < 0.5) || m > LW_BREAKS_MAX_NOBS) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "sup-F: need 1 <= k <= %u, 0 < trim < 0.5 and at most %u rows", LW_BREAKS_MAX_K,
                  LW_BREAKS_MAX_NOBS);
        return supf_fail(res, LW_ERR_INVALID, errstr, errstr_size);
    }
    const size_t h = trim_rows(trim, m);
    if (h < k + 1 || m < 2 * h) {
        /* smallest m with ceil(trim m) >= k + 1 */
        const size_t need = (size_t)ceil((double)(k + 1) / trim);
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "sup-F: %zu rows are too few for %zu parameters at %.0f%% trimming (need at "
                  "least %zu)",
                  m, k, 100.0 * trim, need > 2 * (k + 1) ? need : 2 * (k + 1));
        return supf_fail(res, LW_ERR_INVALID, errstr, errstr_size);
    }
    if (!all_finite(y, m) || !all_finite(Z, m * k)) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "sup-F: NaN or Inf in the input");
        return supf_fail(res, LW_ERR_INVALID, errstr, errstr_size);
    }

    lw_err_t err = LW_OK;
    double *prefix = malloc((m + 1) * sizeof(double)); /* SSR of rows [0, tau) */
    double *suffix = malloc((m + 1) * sizeof(double)); /* SSR of rows [tau, m) */
    double *mem = malloc((k * k + 3 * k) * sizeof(double));
    if (!prefix || !suffix || !mem) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "sup-F: out of memory");
        err = LW_ERR_NOMEM;
        goto free_bufs;
    }
    givens_t g;
    givens_init(&g, k, mem);
    for (size_t t = 0; t < m; t++) {
        givens_add(&g, Z + t * k, y[t]);
        if (t + 1 == h && givens_rank_defect(&g) < k) {
            lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                      "sup-F: column %zu is constant or collinear over the first %zu rows",
                      givens_rank_defect(&g), h);
            err = LW_ERR_STATS;
            goto free_bufs;
        }
        prefix[t + 1] = g.ssr;
    }
    const double ssr0 = g.ssr;
    givens_reset(&g);
    for (size_t t = m; t-- > 0;) {
        givens_add(&g, Z + t * k, y[t]);
        if (m - t == h && givens_rank_defect(&g) < k) {
            lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                      "sup-F: column %zu is constant or collinear over the last %zu rows",
                      givens_rank_defect(&g), h);
            err = LW_ERR_STATS;
            goto free_bufs;
        }
        suffix[t] = g.ssr;
    }
    double ymean = 0.0, tss = 0.0;
    for (size_t t = 0; t < m; t++)
        ymean += y[t];
    ymean /= (double)m;
    for (size_t t = 0; t < m; t++)
        tss += (y[t] - ymean) * (y[t] - ymean);
    if (!(tss > 0.0)) {
        lw_seterr(errstr, errstr_size, LW_ERR_STATS, "sup-F: y is constant");
        err = LW_ERR_STATS;
        goto free_bufs;
    }
    if (!(ssr0 > DBL_EPSILON * tss)) {
        lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                  "sup-F: the regression fits exactly (ssr/tss < DBL_EPSILON)");
        err = LW_ERR_STATS;
        goto free_bufs;
    }

    const double dfd = (double)(m - 2 * k);
    if (f_path)
        memset(f_path, 0, (m + 1) * sizeof(double));
    double best = -1.0;
    size_t best_tau = h;
    for (size_t tau = h; tau <= m - h; tau++) {
        const double s = prefix[tau] + suffix[tau];
        if (!(s > 0.0)) {
            lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                      "sup-F: both regimes fit exactly at row %zu", tau);
            err = LW_ERR_STATS;
            goto free_bufs;
        }
        const double f = ((ssr0 - s) / (double)k) / (s / dfd);
        if (f_path)
            f_path[tau] = f;
        if (f > best) {
            best = f;
            best_tau = tau;
        }
    }

    res->status = LW_OK;
    res->nobs = m;
    res->k = k;
    res->h = h;
    res->first = h;
    res->last = m - h;
    res->ssr_full = ssr0;
    res->sup_f = best;
    res->break_row = best_tau;
    res->break_period = best_tau;
    res->df_num = (double)k;
    res->df_denom = dfd;
    res->sup_wald = (double)k * best;
    res->tau0 = (double)h / (double)m;
    res->p_defined = lw_breaks_hansen_p(res->sup_wald, k, res->tau0, &res->p);
    if (!res->p_defined)
        snprintf(res->reason, sizeof(res->reason),
                 "p-value undefined: Hansen's table covers at most %u parameters, the model "
                 "has %zu",
                 LW_BREAKS_HANSEN_MAX_K, k);

free_bufs:
    free(mem);
    free(suffix);
    free(prefix);
    if (err != LW_OK)
        return supf_fail(res, err, errstr, errstr_size);
    return LW_OK;
}

/* Design [1, y_{t-1..ylags}, x_{t-1..xlags}] for rows t = L..n-1 into Z/yy. */
static void lag_design(const double *y, const double *x, size_t n, size_t ylags, size_t xlags,
                       double *Z, double *yy)
{
    const size_t L = ylags > xlags ? ylags : xlags;
    const size_t k = 1 + ylags + xlags;
    for (size_t t = L; t < n; t++) {
        double *row = Z + (t - L) * k;
        row[0] = 1.0;
        for (size_t j = 1; j <= ylags; j++)
            row[j] = y[t - j];
        for (size_t j = 1; j <= xlags; j++)
            row[ylags + j] = x[t - j];
        yy[t - L] = y[t];
    }
}

lw_err_t lw_breaks_supf_lags(const double *y, const double *x, size_t n, size_t ylags, size_t xlags,
                             double trim, lw_breaks_supf_t *res, double *f_path, char *errstr,
                             size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    if (!errstr || errstr_size == 0) {
        errstr = localerr;
        errstr_size = sizeof(localerr);
    }
    memset(res, 0, sizeof(*res));
    const size_t L = ylags > xlags ? ylags : xlags;
    const size_t k = 1 + ylags + xlags;
    if (xlags == 0 || k > LW_BREAKS_MAX_K || n <= L || n > LW_BREAKS_MAX_NOBS) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "sup-F: need xlags >= 1, 1 + ylags + xlags <= %u and more than %zu points "
                  "(got %zu)",
                  LW_BREAKS_MAX_K, L, n);
        return supf_fail(res, LW_ERR_INVALID, errstr, errstr_size);
    }
    if (!all_finite(y, n) || !all_finite(x, n)) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "sup-F: NaN or Inf in the input");
        return supf_fail(res, LW_ERR_INVALID, errstr, errstr_size);
    }
    const size_t m = n - L;
    double *Z = malloc(m * k * sizeof(double));
    double *yy = malloc(m * sizeof(double));
    double *fp = f_path ? malloc((m + 1) * sizeof(double)) : NULL;
    lw_err_t err;
    if (!Z || !yy || (f_path && !fp)) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "sup-F: out of memory");
        err = supf_fail(res, LW_ERR_NOMEM, errstr, errstr_size);
        goto free_design;
    }
    lag_design(y, x, n, ylags, xlags, Z, yy);
    err = lw_breaks_supf(yy, Z, m, k, trim, res, fp, errstr, errstr_size);
    if (err == LW_OK) {
        res->break_period = L + res->break_row;
        if (f_path) {
            memset(f_path, 0, (n + 1) * sizeof(double));
            memcpy(f_path + L, fp, (m + 1) * sizeof(double));
        }
    }
free_design:
    free(fp);
    free(yy);
    free(Z);
    return err;
}

/* ------------------------------------------------------------ HC sup-Wald, partial change */

static lw_err_t hc_fail(lw_breaks_supwald_hc_t *res, lw_err_t err, char *errstr,
                        size_t errstr_size)
{
    char reason[LW_BREAKS_REASON_SIZE];
    snprintf(reason, sizeof(reason), "%s", errstr && errstr_size ? errstr : "failed");
    memset(res, 0, sizeof(*res));
    res->status = err;
    snprintf(res->reason, sizeof(res->reason), "%s", reason);
    return err;
}

/* W(i) = b2' V22^-1 b2 for the interaction design A (m x (k + q)) of break i. */
static lw_err_t hc_wald_at(lw_ols_t *ols, const double *A, const double *y, size_t m, size_t k,
                           size_t q, gsl_matrix *V22, gsl_vector *b2, gsl_vector *sol,
                           double *w, char *errstr, size_t errstr_size)
{
    lw_ols_result_t fit;
    const size_t ka = k + q;
    lw_err_t err = lw_ols_fit(ols, A, y, m, ka, LW_OLS_HAC, 0, &fit, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    for (size_t i = 0; i < q; i++) {
        gsl_vector_set(b2, i, fit.params[k + i]);
        for (size_t j = 0; j < q; j++)
            gsl_matrix_set(V22, i, j, fit.cov_hac[(k + i) * ka + k + j]);
    }
    int st = gsl_linalg_cholesky_decomp1(V22);
    if (st == GSL_SUCCESS)
        st = gsl_linalg_cholesky_solve(V22, b2, sol);
    double v = 0.0;
    gsl_blas_ddot(b2, sol, &v);
    if (st != GSL_SUCCESS || !isfinite(v))
        return lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                         "HC sup-Wald: robust covariance of the change is singular");
    *w = v;
    return LW_OK;
}

lw_err_t lw_breaks_supwald_hc(const double *y, const double *Z, size_t m, size_t k,
                              const size_t *chg, size_t q, double trim,
                              lw_breaks_supwald_hc_t *res, double *w_path, char *errstr,
                              size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    if (!errstr || errstr_size == 0) {
        errstr = localerr;
        errstr_size = sizeof(localerr);
    }
    memset(res, 0, sizeof(*res));
    if (k == 0 || k > LW_BREAKS_MAX_K || q == 0 || q > k || !(trim > 0.0 && trim < 0.5) ||
        m > LW_BREAKS_MAX_NOBS) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "HC sup-Wald: need 1 <= q <= k <= %u, trim in (0, 0.5), m <= %u", LW_BREAKS_MAX_K,
                  LW_BREAKS_MAX_NOBS);
        return hc_fail(res, LW_ERR_INVALID, errstr, errstr_size);
    }
    for (size_t j = 0; j < q; j++)
        if (chg[j] >= k || (j > 0 && chg[j] <= chg[j - 1])) {
            lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                      "HC sup-Wald: changing columns must be increasing indices below k");
            return hc_fail(res, LW_ERR_INVALID, errstr, errstr_size);
        }
    if (!all_finite(y, m) || !all_finite(Z, m * k)) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "HC sup-Wald: NaN or Inf in the input");
        return hc_fail(res, LW_ERR_INVALID, errstr, errstr_size);
    }
    /* strucchange::Fstats: from = floor(trim m), to = m - from, then clamped to [k+1, m-k-1] */
    size_t from = (size_t)floor(trim * (double)m + 1e-9), to = m - from;
    if (from < k + 1)
        from = k + 1;
    if (m < k + 1 || to + k + 1 > m)
        to = m >= k + 1 ? m - k - 1 : 0;
    const size_t ka = k + q;
    if (from > to || m <= 2 * ka) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "HC sup-Wald: %zu rows is too short for k = %zu, q = %zu at trim %.3g", m, k, q,
                  trim);
        return hc_fail(res, LW_ERR_INVALID, errstr, errstr_size);
    }
    lw_err_t err = LW_OK;
    lw_ols_t *ols = NULL;
    double *A = malloc(m * ka * sizeof(double));
    gsl_matrix *V22 = gsl_matrix_alloc(q, q);
    gsl_vector *b2 = gsl_vector_alloc(q), *sol = gsl_vector_alloc(q);
    if (!A || !V22 || !b2 || !sol) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "HC sup-Wald: out of memory");
        goto free_all;
    }
    err = lw_ols_new(m, ka, &ols, errstr, errstr_size);
    if (err != LW_OK)
        goto free_all;
    for (size_t t = 0; t < m; t++) {
        memcpy(A + t * ka, Z + t * k, k * sizeof(double));
        for (size_t j = 0; j < q; j++)
            A[t * ka + k + j] = 0.0;
    }
    if (w_path)
        memset(w_path, 0, (m + 1) * sizeof(double));
    /* break i: rows 0..i-1 old regime, rows i..m-1 interact; walk i downwards
     * so each step switches on one more row's interaction */
    for (size_t t = to; t < m; t++)
        for (size_t j = 0; j < q; j++)
            A[t * ka + k + j] = Z[t * k + chg[j]];
    for (size_t i = to; i >= from; i--) {
        double w = 0.0;
        err = hc_wald_at(ols, A, y, m, k, q, V22, b2, sol, &w, errstr, errstr_size);
        if (err != LW_OK) {
            char why[LW_BREAKS_REASON_SIZE];
            snprintf(why, sizeof(why), "%s", errstr);
            lw_seterr(errstr, errstr_size, err, "%s (break after row %zu)", why, i);
            goto free_all;
        }
        if (w_path)
            w_path[i] = w;
        if (i == to || w >= res->sup_wald) { /* >=: walking down, ties go to the earliest i */
            res->sup_wald = w;
            res->break_row = i;
        }
        if (i == from)
            break;
        for (size_t j = 0; j < q; j++)
            A[(i - 1) * ka + k + j] = Z[(i - 1) * k + chg[j]];
    }
    res->nobs = m;
    res->k = k;
    res->q = q;
    res->first = from;
    res->last = to;
    res->lambda = ((double)(m - from) * (double)to) / ((double)from * (double)(m - to));
    res->tau0 = res->lambda < 1.0 ? res->lambda : 1.0 / (1.0 + sqrt(res->lambda));
    res->p_defined = lw_breaks_hansen_p40(res->sup_wald, q, res->tau0, &res->p);
    if (!res->p_defined)
        snprintf(res->reason, sizeof(res->reason),
                 "no p-value for %zu restrictions (Hansen's table stops at %u)", q,
                 LW_BREAKS_HANSEN40_MAX_K);
free_all:
    lw_ols_destroy(ols);
    gsl_vector_free(sol);
    gsl_vector_free(b2);
    gsl_matrix_free(V22);
    free(A);
    if (err != LW_OK)
        return hc_fail(res, err, errstr, errstr_size);
    return LW_OK;
}

lw_err_t lw_breaks_supwald_hc_lags(const double *y, const double *x, size_t n, size_t ylags,
                                   size_t xlags, double trim, lw_breaks_supwald_hc_t *res,
                                   double *w_path, char *errstr, size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    if (!errstr || errstr_size == 0) {
        errstr = localerr;
        errstr_size = sizeof(localerr);
    }
    memset(res, 0, sizeof(*res));
    const size_t L = ylags > xlags ? ylags : xlags, k = 1 + ylags + xlags;
    if (xlags == 0 || k > LW_BREAKS_MAX_K || n <= L || n > LW_BREAKS_MAX_NOBS ||
        !all_finite(y, n) || !all_finite(x, n)) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "HC sup-Wald: need xlags >= 1, 1 + ylags + xlags <= %u, finite values and more "
                  "than %zu points (got %zu)",
                  LW_BREAKS_MAX_K, L, n);
        return hc_fail(res, LW_ERR_INVALID, errstr, errstr_size);
    }
    const size_t m = n - L;
    size_t chg[LW_BREAKS_MAX_K];
    for (size_t j = 0; j < xlags; j++)
        chg[j] = 1 + ylags + j;
    double *Z = malloc(m * k * sizeof(double));
    double *yy = malloc(m * sizeof(double));
    lw_err_t err;
    if (!Z || !yy) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "HC sup-Wald: out of memory");
        err = hc_fail(res, LW_ERR_NOMEM, errstr, errstr_size);
        goto free_design;
    }
    lag_design(y, x, n, ylags, xlags, Z, yy);
    err = lw_breaks_supwald_hc(yy, Z, m, k, chg, xlags, trim, res,
                               w_path ? w_path + L : NULL, errstr, errstr_size);
    if (err == LW_OK) {
        res->break_period = L + res->break_row;
        if (w_path)
            memset(w_path, 0, L * sizeof(double));
    }
free_design:
    free(yy);
    free(Z);
    return err;
}

/* ------------------------------------------------------------ CUSUM */

lw_err_t lw_breaks_cusum(const double *y, const double *Z, size_t m, size_t k,
                         lw_breaks_cusum_t *res, char *errstr, size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    if (!errstr || errstr_size == 0) {
        errstr = localerr;
        errstr_size = sizeof(localerr);
    }
    memset(res, 0, sizeof(*res));
    lw_err_t err;
    if (k == 0 || k > LW_BREAKS_MAX_K || m < k + 3 || m > LW_BREAKS_MAX_NOBS) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                        "CUSUM: need 1 <= k <= %u and at least k + 3 = %zu rows (got %zu)",
                        LW_BREAKS_MAX_K, k + 3, m);
        goto record;
    }
    double *pred = malloc(2 * m * sizeof(double));
    if (!pred) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "CUSUM: out of memory");
        goto record;
    }
    double *w = pred + m;
    err = lw_breaks_recursive(y, Z, m, k, k, pred, w, errstr, errstr_size);
    if (err != LW_OK)
        goto free_pred;
    const size_t r = m - k;
    double mean = 0.0, ss = 0.0;
    for (size_t t = k; t < m; t++)
        mean += w[t];
    mean /= (double)r;
    for (size_t t = k; t < m; t++)
        ss += (w[t] - mean) * (w[t] - mean);
    const double sigma = sqrt(ss / (double)(r - 1));
    if (!(sigma > 0.0) || !isfinite(sigma)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "CUSUM: the recursive residuals are all equal (perfect fit)");
        goto free_pred;
    }
    const double scale = sigma * sqrt((double)r);
    double cum = 0.0, best = 0.0;
    size_t best_row = k;
    for (size_t t = k; t < m; t++) {
        cum += w[t];
        const double tt = (double)(t - k + 1) / (double)r;
        const double v = fabs(cum / scale) / (1.0 + 2.0 * tt);
        if (v > best) {
            best = v;
            best_row = t;
        }
    }
    res->nobs = m;
    res->k = k;
    res->sigma = sigma;
    res->stat = best;
    res->max_row = best_row;
    res->p = lw_breaks_bm_crossing_p(best);
free_pred:
    free(pred);
record:
    res->status = err;
    if (err != LW_OK) {
        char reason[LW_BREAKS_REASON_SIZE];
        snprintf(reason, sizeof(reason), "%s", errstr);
        memset(res, 0, sizeof(*res));
        res->status = err;
        snprintf(res->reason, sizeof(res->reason), "%s", reason);
    }
    return err;
}
