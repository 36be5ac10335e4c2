<?xml version="1.0" encoding="UTF-8"?>
<!-- feedpub: shows an RSS 2.0 or Atom 1.0 feed as a page when a browser opens it, saying how to
     subscribe. Feed readers ignore it. Every value is written as text. -->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>

  <xsl:template match="/">
    <xsl:variable name="rss" select="rss/channel"/>
    <xsl:variable name="atom" select="atom:feed"/>
    <xsl:variable name="title" select="$rss/title | $atom/atom:title"/>
    <xsl:variable name="home" select="$rss/link | $atom/atom:link[@rel='alternate']/@href"/>
    <html lang="{$rss/language | $atom/@xml:lang}">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (feed)</title>
        <style>
          body{margin:0 auto;max-width:46rem;padding:1rem;font:1rem/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff}
          a{color:#0b57d0}
          .about{background:#eef3fc;border:1px solid #b9cdf0;padding:.5rem 1rem}
          .meta{color:#4a4a4a;font-size:.9rem}
          ol{list-style:none;padding:0}
          li{border-top:1px solid #d0d0d0;padding:.6rem 0}
          h1{font-size:1.6rem;line-height:1.2}
          h2{font-size:1.25rem}
          h3{font-size:1.05rem;margin:.2rem 0}
        </style>
      </head>
      <body>
        <main>
          <section class="about" aria-labelledby="about">
            <h1 id="about"><xsl:value-of select="$title"/></h1>
            <p>This is a <strong>web feed</strong>: a feed reader follows it for you and shows
              each new entry. To subscribe, copy the address of this page from the address bar
              and paste it into your feed reader.</p>
            <xsl:if test="starts-with($home, 'http')">
              <p><a href="{$home}">The topic's page</a> has all its feeds and the latest entries.</p>
            </xsl:if>
          </section>
          <p><xsl:value-of select="$rss/description | $atom/atom:subtitle"/></p>
          <h2>Latest entries</h2>
          <ol>
            <xsl:apply-templates select="$rss/item | $atom/atom:entry"/>
          </ol>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <h3><xsl:call-template name="title-link">
        <xsl:with-param name="url" select="link"/>
        <xsl:with-param name="title" select="title"/>
      </xsl:call-template></h3>
      <p class="meta"><xsl:value-of select="substring(pubDate, 6, 11)"/><xsl:for-each select="category"> · <xsl:value-of select="."/></xsl:for-each></p>
      <p><xsl:call-template name="plain">
        <xsl:with-param name="html" select="description"/>
      </xsl:call-template></p>
    </li>
  </xsl:template>

  <!-- An RSS description is feedpub's plain text escaped as HTML (paragraphs as <p>): shown
       here as the text it is. Dates are the source's own: the listing's day. -->
  <xsl:template name="plain">
    <xsl:param name="html"/>
    <xsl:call-template name="replace">
      <xsl:with-param name="text">
        <xsl:call-template name="replace">
          <xsl:with-param name="text">
            <xsl:call-template name="replace">
              <xsl:with-param name="text">
                <xsl:call-template name="replace">
                  <xsl:with-param name="text">
                    <xsl:call-template name="replace">
                      <xsl:with-param name="text" select="$html"/>
                      <xsl:with-param name="from" select="'&lt;/p&gt;'"/>
                      <xsl:with-param name="to" select="' '"/>
                    </xsl:call-template>
                  </xsl:with-param>
                  <xsl:with-param name="from" select="'&lt;p&gt;'"/>
                  <xsl:with-param name="to" select="''"/>
                </xsl:call-template>
              </xsl:with-param>
              <xsl:with-param name="from" select="'&amp;lt;'"/>
              <xsl:with-param name="to" select="'&lt;'"/>
            </xsl:call-template>
          </xsl:with-param>
          <xsl:with-param name="from" select="'&amp;gt;'"/>
          <xsl:with-param name="to" select="'&gt;'"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="from" select="'&amp;amp;'"/>
      <xsl:with-param name="to" select="'&amp;'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="replace">
    <xsl:param name="text"/>
    <xsl:param name="from"/>
    <xsl:param name="to"/>
    <xsl:choose>
      <xsl:when test="contains($text, $from)">
        <xsl:value-of select="concat(substring-before($text, $from), $to)"/>
        <xsl:call-template name="replace">
          <xsl:with-param name="text" select="substring-after($text, $from)"/>
          <xsl:with-param name="from" select="$from"/>
          <xsl:with-param name="to" select="$to"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <h3><xsl:call-template name="title-link">
        <xsl:with-param name="url" select="atom:link[not(@rel) or @rel='alternate']/@href"/>
        <xsl:with-param name="title" select="atom:title"/>
      </xsl:call-template></h3>
      <p class="meta"><xsl:value-of select="substring(atom:published, 1, 10)"/><xsl:for-each select="atom:category"> · <xsl:value-of select="@term"/></xsl:for-each></p>
      <p><xsl:value-of select="atom:summary"/></p>
    </li>
  </xsl:template>

  <xsl:template name="title-link">
    <xsl:param name="url"/>
    <xsl:param name="title"/>
    <xsl:choose>
      <xsl:when test="starts-with($url, 'http://') or starts-with($url, 'https://')">
        <a href="{$url}"><xsl:value-of select="$title"/></a>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$title"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
